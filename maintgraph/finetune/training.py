"""LoRA / QLoRA training with transformers' Trainer and peft.

The loss is on the answer only (the prompt's tokens are masked), rendered with the base
model's own chat template. The Trainer brings what a long run needs: checkpoints every
``save_every`` steps and resuming from the last one (optimizer, scheduler and data order
included), early stopping on validation loss with the best checkpoint kept, fixed seeds and a
progress bar with its ETA. Each log line (loss, learning rate, validation loss, tokens/s) is
appended to the run's ``metrics.jsonl`` as it happens.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maintgraph.errors import MaintgraphError
from maintgraph.finetune.examples import Example
from maintgraph.finetune.spec import TrainConfig

log = logging.getLogger(__name__)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def check_quantization(config: TrainConfig) -> None:
    if config.lora.quantization == "4bit" and not cuda_available():
        raise MaintgraphError("QLoRA (lora.quantization: 4bit) loads the base in 4 bits with bitsandbytes, which "
                              "needs a CUDA GPU; this machine has none: use lora.quantization: none (plain LoRA) "
                              "here, or run this config on a GPU machine")  # fmt: skip


def chat_tokens(tokenizer: Any, messages: list[dict[str, str]], max_length: int | None = None) -> dict[str, list[int]]:
    """input ids and labels: the prompt masked (-100), the answer learned."""
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    if ids[: len(prompt_ids)] != prompt_ids:
        raise MaintgraphError("the base model's chat template renders the prompt differently inside the whole "
                              "conversation; the answer tokens cannot be told apart")  # fmt: skip
    return {"input_ids": ids, "labels": [-100] * len(prompt_ids) + ids[len(prompt_ids) :]}


class _Collator:
    def __init__(self, pad: int) -> None:
        self.pad = pad

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(b["input_ids"]) for b in batch)
        return {
            "input_ids": torch.tensor([b["input_ids"] + [self.pad] * (width - len(b["input_ids"])) for b in batch]),
            "labels": torch.tensor([b["labels"] + [-100] * (width - len(b["labels"])) for b in batch]),
            "attention_mask": torch.tensor(
                [[1] * len(b["input_ids"]) + [0] * (width - len(b["input_ids"])) for b in batch]
            ),
        }


@dataclass
class Trained:
    adapter_dir: Path
    steps: int
    base_eval_loss: float | None
    eval_loss: float
    train_loss: float | None
    seconds: float
    tokens_per_s: float | None
    stopped_early: bool
    resumed_from: int | None


def _metrics_callback(metrics_file: Path) -> Any:
    from transformers import TrainerCallback

    class MetricsLog(TrainerCallback):
        """Each Trainer log line, with the tokens/s since the previous one, appended as JSON."""

        def __init__(self) -> None:
            self.last: tuple[float, int] | None = None

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
        ) -> None:
            row: dict[str, Any] = {"step": state.global_step, "at": time.time(), **(logs or {})}
            seen = state.num_input_tokens_seen
            if "loss" in row and seen:
                if self.last is not None and seen > self.last[1]:
                    row["tokens_per_s"] = (seen - self.last[1]) / max(1e-9, row["at"] - self.last[0])
                self.last = (row["at"], seen)
            with metrics_file.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            shown = {k: round(v, 4) for k, v in row.items() if k in ("loss", "eval_loss", "learning_rate")}
            if shown:  # the same figures for a run without a terminal (no progress bar)
                log.info("step %d/%d: %s", state.global_step, state.max_steps, shown)

    return MetricsLog()


def train(config: TrainConfig, base_dir: Path, train_set: list[Example], validation: list[Example], run_dir: Path,
          resume: bool = False, progress: bool = True, callbacks: list[Any] | None = None) -> Trained:  # fmt: skip
    check_quantization(config)
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        EarlyStoppingCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    set_seed(config.training.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if not tokenizer.chat_template:
        raise MaintgraphError(f"base model {config.base!r} has no chat template: the examples cannot be rendered "
                              "as its chats (choose an instruct model)")  # fmt: skip
    on_gpu = cuda_available()
    if config.lora.quantization == "4bit":
        from transformers import BitsAndBytesConfig

        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise MaintgraphError("QLoRA needs bitsandbytes: pip install -e '.[gpu]'") from None

        quantized = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                       bnb_4bit_compute_dtype=torch.bfloat16)  # fmt: skip
        model = AutoModelForCausalLM.from_pretrained(base_dir, quantization_config=quantized, device_map={"": 0})
        model = prepare_model_for_kbit_training(model)
    else:
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    lora = config.lora
    try:
        model = get_peft_model(model, LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                                 target_modules=lora.target_modules, bias="none", use_dora=False,
                                                 task_type="CAUSAL_LM"))  # fmt: skip
    except ValueError as exc:  # peft names the modules it could not find
        raise MaintgraphError(f"lora.target_modules {lora.target_modules} do not fit {config.base!r}: {exc}") from None
    tokens = [chat_tokens(tokenizer, e.messages) for e in train_set]
    held_out = [chat_tokens(tokenizer, e.messages) for e in validation]
    t = config.training
    checkpoints = run_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(checkpoints), max_steps=t.max_steps, per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size, gradient_accumulation_steps=t.gradient_accumulation,
        learning_rate=t.learning_rate, warmup_steps=t.warmup_steps, logging_steps=t.log_every,
        eval_strategy="steps", eval_steps=t.eval_every, save_strategy="steps", save_steps=t.save_every,
        save_total_limit=2, load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
        seed=t.seed, data_seed=t.seed, report_to=[], use_cpu=not on_gpu, include_num_input_tokens_seen=True,
        disable_tqdm=not progress, remove_unused_columns=False, dataloader_num_workers=0,
    )  # fmt: skip
    metrics_file = run_dir / "metrics.jsonl"
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    trainer = Trainer(model=model, args=args, train_dataset=tokens, eval_dataset=held_out, data_collator=_Collator(pad),
                      callbacks=[EarlyStoppingCallback(t.early_stopping_patience),
                                 _metrics_callback(metrics_file), *(callbacks or [])])  # fmt: skip
    resumed_from = _last_checkpoint(checkpoints) if resume else None
    if resume and resumed_from is None:
        raise MaintgraphError(f"{checkpoints}: no checkpoint to resume from (the run stopped before its first save "
                              f"at step {t.save_every}): start it again without --resume")  # fmt: skip
    if resume:
        rows = read_metrics(metrics_file)
        base_eval_loss = next((r["base_eval_loss"] for r in rows if "base_eval_loss" in r), None)
        # What was logged after the checkpoint is trained again: logged once, by the resumed run.
        metrics_file.write_text("".join(json.dumps(r) + "\n" for r in rows if r["step"] <= (resumed_from or 0)))
    else:  # the base model's validation loss, what the adapter is measured against
        base_eval_loss = trainer.evaluate()["eval_loss"]
        with metrics_file.open("a") as handle:
            handle.write(json.dumps({"step": 0, "at": time.time(), "base_eval_loss": base_eval_loss}) + "\n")
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(checkpoints / f"checkpoint-{resumed_from}") if resume else None)
    seconds = time.perf_counter() - started
    final = trainer.evaluate(metric_key_prefix="best")["best_loss"]  # the best checkpoint's, loaded at the end
    adapter_dir = run_dir / "adapter"
    trainer.model.save_pretrained(adapter_dir)
    (adapter_dir / "README.md").unlink(missing_ok=True)  # peft's empty template: the registry writes the card
    config_path = adapter_dir / "adapter_config.json"
    saved = json.loads(config_path.read_text())
    saved["base_model_name_or_path"] = config.base  # the registry's name, not this machine's cache path
    config_path.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    metrics = output.metrics
    return Trained(adapter_dir, trainer.state.global_step, base_eval_loss, final, metrics.get("train_loss"), seconds,
                   metrics.get("train_tokens_per_second") or _tokens_per_s(metrics_file),
                   trainer.state.global_step < t.max_steps, resumed_from)  # fmt: skip


def _last_checkpoint(folder: Path) -> int | None:
    steps = [int(p.name.split("-")[1]) for p in folder.glob("checkpoint-*") if p.name.split("-")[1].isdigit()]
    return max(steps) if steps else None


def _tokens_per_s(metrics_file: Path) -> float | None:
    rates = [row["tokens_per_s"] for row in read_metrics(metrics_file) if "tokens_per_s" in row]
    return sum(rates) / len(rates) if rates else None


def read_metrics(metrics_file: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def token_counter(tokenizer: Any) -> Callable[[list[dict[str, str]]], int]:
    return lambda messages: len(chat_tokens(tokenizer, messages)["input_ids"])
