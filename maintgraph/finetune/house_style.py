"""Train the shipped ``house-style`` LoRA adapter from ``data/finetune/house_style.yaml``.

    python -m maintgraph.finetune.house_style [--steps 120] [--out maintgraph/llm/adapters/house-style]

The adapter teaches the default base model the house answer format (a SAFETY line, numbered
CHECK steps, a RECORD line), so the demo answers through a LoRA-adapted model from day one.
LoRA r=8 on the attention q/v projections, loss on the answer tokens only, fixed seed. Prints
the sha256 to pin in ``maintgraph/llm/registry.yaml``. The fine-tuning pipeline replaces this
script with the real one (supervision sets from traces, QLoRA, evaluation gates).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import yaml

from maintgraph.config import Settings
from maintgraph.llm.registry import ADAPTER_WEIGHTS, ModelRegistry, sha256_of

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "data" / "finetune" / "house_style.yaml"
OUT = Path(__file__).resolve().parents[1] / "llm" / "adapters" / "house-style"
BASE = "smollm2-135m-instruct"


def house_answer(example: dict) -> str:
    steps = "\n".join(f"{n}. {step}" for n, step in enumerate(example["checks"], 1))
    return f"SAFETY: {example['safety']}\nCHECK:\n{steps}\nRECORD: {example['record']}"


def conversations(path: Path = EXAMPLES) -> list[list[dict[str, str]]]:
    examples = yaml.safe_load(path.read_text())
    return [
        [{"role": "user", "content": question}, {"role": "assistant", "content": house_answer(example)}]
        for example in examples
        for question in example["questions"]
    ]


def train(base_dir: Path, out: Path, steps: int, batch_size: int = 4, learning_rate: float = 2e-3,
          seed: int = 7) -> float:  # fmt: skip
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    random.seed(seed)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                             target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))  # fmt: skip
    samples = []
    for conversation in conversations():
        prompt = tokenizer.apply_chat_template(conversation[:1], tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(conversation, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = tokenizer(full, add_special_tokens=False)["input_ids"]
        labels = [-100] * len(prompt_ids) + ids[len(prompt_ids) :]  # learn the answer, not the question
        samples.append((ids, labels))
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model.train()
    loss_value, started = 0.0, time.perf_counter()
    for step in range(1, steps + 1):
        batch = random.sample(samples, batch_size)
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in batch])
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        loss_value = float(loss)
        if step % 10 == 0 or step == steps:
            print(f"step {step}/{steps}: loss {loss_value:.3f} ({(time.perf_counter() - started) / step:.2f} s/step)")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    (out / "README.md").unlink(missing_ok=True)  # peft's empty model-card template
    config_path = out / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = BASE  # the registry name, not this machine's cache path
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return loss_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    base_dir = ModelRegistry(Settings()).prepare(BASE)
    loss = train(base_dir, args.out, args.steps)
    print(f"final loss {loss:.3f}; {args.out / ADAPTER_WEIGHTS}: sha256 {sha256_of(args.out / ADAPTER_WEIGHTS)}")


if __name__ == "__main__":
    main()
