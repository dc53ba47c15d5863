"""The answer composed from the evidence without a model (maintgraph.agent.compose): what a
technician reading it would notice. Evidence is built here, in two shapes: the sample plant's
(a pump's LOTO, FMEA, work orders, stock, manuals) and another plant's (a compressor's FMEA
written AIAG-VDA style, CMMS work orders as AssetOpsBench exports them)."""

from __future__ import annotations

import re

from maintgraph.agent import compose
from maintgraph.agent.synthesis import check_citations, composed_pairs, finish
from maintgraph.agent.understand import Understanding
from maintgraph.citations import cited_ids, ground
from maintgraph.evals.metrics import read_length, shape_problems
from maintgraph.graph.linking import Candidate
from maintgraph.retrieval.base import Evidence, render_fields
from maintgraph.retrieval.knowledge_graph import render_fact, render_isolation

RAW_FIELD = re.compile(r"\b[a-z]+_[a-z_]+:")


def graph_fact(ref: str, fact: dict, title: str) -> Evidence:
    """A graph fact as the knowledge-graph retriever makes it: the ``key: value`` text and the fact."""
    text = render_isolation(fact) if "isolation_point" in fact else render_fact(fact)
    return Evidence(f"graph:{ref}", "graph", text, title, fact)


def work_order(
    number: str,
    asset: str,
    kind: str,
    status: str,
    reported: str,
    finished: str | None,
    code: str | None,
    description: str,
) -> Evidence:
    row = {
        "number": number,
        "asset": asset,
        "type": kind,
        "status": status,
        "reported": reported,
        "finished": finished,
        "failure_code": code,
        "description": description,
    }
    text = (
        f"{number} on {asset}: {kind} {status}, reported {reported or '-'}, finished {finished or '-'}, "
        f"code {code or '-'}: {description}"
    )
    return Evidence(f"wo:{number}", "wo", text, f"work order {number}", row)


def stock(part: str, name: str, store: str, on_hand: int) -> Evidence:
    row = {
        "id": f"PART:{part}",
        "part_number": part,
        "name": name,
        "storeroom": store,
        "on_hand": on_hand,
        "reserved": 0,
        "available": on_hand,
    }
    return Evidence(f"wo:STOCK:{part}@{store}", "wo", render_fields(row), name, row)


LOTO_STEPS = [
    "Raise a permit to work and tell the control room that P-101 is coming out of service.",
    "Set P-101 to Out of Service on SCADA so the duty/standby logic cannot call it.",
    "Switch off, rack out and lock the M-101 breaker at MCC1-07; prove dead at the motor terminals.",
    "Close and chain-lock HV-101D and HV-101S, then drain the casing.",
]


def point(ref: str, energy: str, magnitude: str, name: str, method: str, es: str, step: int) -> Evidence:
    fact = {
        "loto": "LOTOProcedure:LOTO-P101",
        "loto_name": "P-101 and M-101 isolation",
        "energy_source": f"EnergySource:LOTO-P101/{es}",
        "energy_name": energy,
        "energy_kind": "electrical",
        "energy_magnitude": magnitude,
        "isolation_point": f"IsolationPoint:{ref}",
        "isolation_name": name,
        "method": method,
        "location": "intake",
        "step": step,
    }
    return graph_fact(f"IsolationPoint:{ref}", fact, "isolation")


SAMPLE_PLANT = [
    Evidence(
        "doc:manual#5",
        "doc",
        "Grease the DE bearing with 20 g of EP2 grease (10 strokes). Do not add more grease to a hot bearing: "
        "check that the relief port is clear first. A bearing that stays above 85 °C with a clear relief port "
        "is probably damaged; plan a change to PR-PU-BRG-01.",
        "Kestrel manual > Lubrication",
        {"document": "Kestrel manual", "headings": ["Lubrication"]},
    ),
    graph_fact(
        "FMEAEntry:P-101/BRG-DE/OHE/housing-packed",
        {
            "equipment": "P-101",
            "component": "Component:P-101/BRG-DE",
            "component_name": "Drive-end radial bearing",
            "mode": "OHE",
            "mode_name": "Overheating",
            "fmea": "FMEAEntry:P-101/BRG-DE/OHE/housing-packed",
            "symptoms": ["high bearing temperature"],
            "causes": ["Housing packed too full of grease, or the relief plug is blocked so old grease cannot escape."],
            "mechanisms": ["Overheating"],
            "rpn": 180,
            "action_priority": "H",
            "recommended_action": "Write the grease quantity on the lube tag; remove the relief plug while greasing "
            "and "
            "run the pump to purge.",
            "check_sensor": "Sensor:TT-101-DE",
            "sensor_name": "P-101 drive-end bearing temperature (PT100)",
            "sensor_unit": "°C",
            "sensor_alarm_high": 85,
            "sensor_trip_high": 95,
        },
        "symptom_causes",
    ),
    graph_fact(
        "FMEAEntry:P-101/BRG-DE/VIB/outer-race",
        {
            "equipment": "P-101",
            "component": "Component:P-101/BRG-DE",
            "component_name": "Drive-end radial bearing",
            "mode": "VIB",
            "mode_name": "Vibration",
            "fmea": "FMEAEntry:P-101/BRG-DE/VIB/outer-race",
            "symptoms": ["high bearing temperature"],
            "causes": ["Outer race spalling because the pump casing is strained by unsupported discharge pipework."],
            "rpn": 120,
            "recommended_action": "Laser-align after every bearing change.",
            "check_sensor": "Sensor:VT-101-DE",
            "sensor_unit": "mm/s",
            "sensor_alarm_high": 7.1,
            "sensor_trip_high": 11,
        },
        "symptom_causes",
    ),
    graph_fact(
        "LOTOProcedure:LOTO-P101",
        {"ref": "LOTOProcedure:LOTO-P101", "name": "P-101 and M-101 isolation", "steps": LOTO_STEPS},
        "isolation",
    ),
    point(
        "HV-101D",
        "Rising main back-pressure",
        "4.5 bar",
        "P-101 discharge isolating valve",
        "close and chain-lock the valve",
        "E2",
        1,
    ),
    point(
        "MCC1-07",
        "M-101 motor supply",
        "400 V AC, 3-phase, 110 kW",
        "MCC-1 cubicle 07 motor feeder breaker",
        "switch the breaker OFF, rack it out and lock it in OFF",
        "E1",
        1,
    ),
    graph_fact(
        "Procedure:PR-PU-BRG-01",
        {
            "kind": "procedure",
            "procedure": "Procedure:PR-PU-BRG-01",
            "name": "P-101 bearing replacement",
            "revision": "D",
            "steps": [
                "Apply LOTO-P101 and verify zero energy.",
                "Purge the old grease through the relief plug and refill with 20 g of EP2 grease.",
            ],
        },
        "failure_mode_fix",
    ),
    graph_fact(
        "SparePart:BRG-6312-C3",
        {
            "kind": "part",
            "procedure": "Procedure:PR-PU-BRG-01",
            "part": "SparePart:BRG-6312-C3",
            "part_name": "Deep groove ball bearing 6312 C3",
            "quantity": 1,
        },
        "failure_mode_fix",
    ),
    work_order(
        "WO-25-00077",
        "P-101",
        "CM",
        "CLOSE",
        "2025-05-20",
        "2025-05-20",
        "OHE",
        "P-101 DE BRG TEMP 88C AFTR PM - OVERGREASED, PURGED",
    ),
    stock("BRG-6312-C3", "Deep groove ball bearing 6312 C3", "NFW-MAIN", 1),
    stock("SEAL-MS-55", "Cartridge mechanical seal 55 mm", "NFW-MAIN", 0),
]

# Another plant: a two-stage compressor's FMEA (AIAG-VDA layout) and its CMMS work orders.
COMPRESSOR = [
    graph_fact(
        "FMEAEntry:K-201/STG1-IMP/SURGE/bov-too-slow",
        {
            "component": "Component:K-201/STG1-IMP",
            "component_name": "Stage 1 impeller",
            "mode": "SURGE",
            "mode_name": "Surge",
            "fmea": "FMEAEntry:K-201/STG1-IMP/SURGE/bov-too-slow",
            "severity": 8,
            "occurrence": 6,
            "detection": 3,
            "rpn": 144,
            "action_priority": "H",
            "recommended_action": "Re-tune BOV PID; stroke test BOV to full open in under 1.5 s; "
            "add surge counter to HMI",
            "causes": ["Demand drops faster than the blow-off valve can open; BOV positioner response too slow"],
            "effects": ["Flow reversal with loud banging, axial thrust reversal on pinion"],
            "check_sensor": "Sensor:PT-201-D",
            "sensor_name": "Stage 1 discharge pressure",
            "sensor_unit": "bar(g)",
            "sensor_alarm_high": 2.6,
            "sensor_trip_high": 2.8,
        },
        "failure_modes",
    ),
    graph_fact(
        "FMEAEntry:K-201/SEAL/OIL/carbon-ring-wear",
        {
            "component": "Component:K-201/SEAL",
            "component_name": "Stage 1 seal",
            "mode": "ELU",
            "mode_name": "Seal leaking oil into air",
            "fmea": "FMEAEntry:K-201/SEAL/OIL/carbon-ring-wear",
            "rpn": 160,
            "causes": [
                "Carbon ring wear or labyrinth clearance opened by rub",
                "Seal buffer air pressure below 0.5 bar(g)",
            ],
            "recommended_action": "Add seal buffer air pressure low alarm to control panel",
        },
        "failure_modes",
    ),
    work_order(
        "WO-1187",
        "K-201",
        "CM",
        "COMP",
        "2019-03-02",
        "2019-03-04",
        "SURGE",
        "Compressor surged 4 times on load shed; BOV positioner found sticking, replaced and stroke-tested",
    ),
    work_order("WO-1203", "K-201", "PM", "WAPPR", "2019-06-11", None, None, "Quarterly inlet filter change"),
]


def pump_question(question: str, intent: str = "diagnose") -> Understanding:
    seen = Understanding(
        question, intent, equipment=[Candidate("Equipment", "P-101", "Raw water lift pump 1", 100, "")]
    )  # type: ignore[arg-type]
    if intent == "diagnose":
        seen.failure_terms = [Candidate("Symptom", "high-bearing-temperature", "high bearing temperature", 90, "hot")]  # type: ignore[arg-type]
    return seen


def answer_of(evidence: list[Evidence], seen: Understanding) -> str:
    return finish("", evidence, seen, []).text


def test_a_diagnosis_isolates_first_as_numbered_steps_then_causes_with_their_sensor_and_fix():
    seen = pump_question("P-101 drive-end bearing is running hot after greasing, what should I check?")
    text = answer_of(SAMPLE_PLANT, seen)
    blocks = text.split("\n\n")
    isolation = blocks[0].splitlines()
    assert (
        isolation[0].startswith("Isolate first, following LOTO-P101")
        and "[graph:LOTOProcedure:LOTO-P101]" in isolation[0]
    )
    # The points in the procedure's order (energy source E1 before E2), each a numbered step citing its point.
    assert isolation[1].startswith("1. MCC1-07: switch the breaker OFF") and isolation[1].endswith(
        "[graph:IsolationPoint:MCC1-07]"
    )
    assert isolation[2].startswith("2. HV-101D: close and chain-lock the valve")
    causes = text.index("Most likely causes")
    assert causes > text.index("HV-101D")
    cause = next(line for line in text.splitlines() if "OHE/housing-packed" in line)
    assert "housing packed too full of grease" in cause and "TT-101-DE" in cause
    assert "alarm 85 °C" in cause and "trip 95 °C" in cause and "Fix: write the grease quantity" in cause
    # The hot-bearing cause before the vibration one: the question is about temperature.
    assert text.index("OHE/housing-packed") < text.index("VIB/outer-race") if "VIB/outer-race" in text else True


def test_composed_answers_read_as_sentences_not_records():
    for evidence, seen in (
        (SAMPLE_PLANT, pump_question("P-101 DE bearing hot, what do I check?")),
        (COMPRESSOR, Understanding("K-201 keeps surging, why?", "diagnose")),
    ):
        text = answer_of(evidence, seen)
        assert not RAW_FIELD.search(re.sub(r"\[[^\]]+\]", "", text)), text
        assert "['" not in text and "{'" not in text and "…" not in text
        assert shape_problems(text) == []
        for line in filter(None, text.splitlines()):  # each ends a sentence, a heading or a citation: no cut word
            assert line.rstrip().endswith((".", ":", "]")), line


def test_every_composed_sentence_cites_the_evidence_it_states_and_passes_the_citation_check():
    seen = pump_question("P-101 drive-end bearing is running hot after greasing, what should I check?")
    evidence = {e.id: e for e in SAMPLE_PLANT}
    pairs = composed_pairs(SAMPLE_PLANT, seen)
    assert pairs and all(ids for text, ids in pairs if re.search(r"\d", text))
    for text, ids in pairs:
        assert all(i in evidence for i in ids)
        claims = ground(f"{text} {' '.join(f'[{i}]' for i in ids)}", {i: evidence[i].text for i in ids})
        assert all(c.grounded for c in claims), (text, [c.problem for c in claims])
    done = finish("", SAMPLE_PLANT, seen, [])
    assert check_citations(done.text, SAMPLE_PLANT).grounded
    assert done.extractive and set(done.cited) == set(cited_ids(done.text)) and set(done.cited) <= set(evidence)
    # The sensor's figures come from the FMEA entry the line cites.
    line = next(line for line in done.text.splitlines() if "TT-101-DE" in line)
    assert cited_ids(line) == ["graph:FMEAEntry:P-101/BRG-DE/OHE/housing-packed"]


def test_a_lookup_is_short_and_a_diagnosis_fits_a_phone_screen():
    parts = Understanding(
        "Have we got a BRG-6312-C3 bearing in stores?",
        "parts",
        parts=[Candidate("SparePart", "BRG-6312-C3", "Deep groove ball bearing", 100, "")],
    )  # type: ignore[arg-type]
    lookup = answer_of([e for e in SAMPLE_PLANT if e.id.startswith("wo:STOCK:BRG")], parts)
    assert lookup.count("\n") == 0 and len(lookup) < 200
    assert lookup.startswith("BRG-6312-C3 (deep groove ball bearing 6312 C3): 1 on hand in NFW-MAIN")
    diagnosis = answer_of(SAMPLE_PLANT * 3, pump_question("P-101 drive-end bearing is hot, what should I check?"))
    assert read_length(diagnosis) <= compose.DIAGNOSIS_CHARS + 150
    assert diagnosis.count("OHE/housing-packed") == 1  # deduplicated, however often retrieved


def test_stock_says_none_in_plain_words_and_work_orders_say_when_what_was_found_and_done():
    seen = Understanding("Is there a spare SEAL-MS-55 and when did P-101 last overheat?", "history")
    text = answer_of([SAMPLE_PLANT[-1], SAMPLE_PLANT[-3]], seen)
    assert "SEAL-MS-55 (cartridge mechanical seal 55 mm): none in stock in NFW-MAIN (0 on hand)" in text
    assert (
        "2025-05-20 WO-25-00077 (corrective, closed, code OHE): P-101 DE BRG TEMP 88C AFTR PM - OVERGREASED, PURGED."
        in text
    )


def test_another_plants_fmea_and_work_orders_compose_the_same_way():
    seen = Understanding("K-201 keeps surging on load shed. What's the cause and has it happened before?", "diagnose")
    seen.failure_terms = [Candidate("FailureMode", "SURGE", "Surge", 90, "surging")]  # type: ignore[arg-type]
    done = finish("", COMPRESSOR, seen, [])
    text = done.text
    surge = next(line for line in text.splitlines() if "SURGE/bov-too-slow" in line)
    assert surge.startswith("Stage 1 impeller surge: demand drops faster than the blow-off valve can open")
    assert "check PT-201-D (alarm 2.6 bar(g), trip 2.8 bar(g))" in surge and "Fix: re-tune BOV PID" in surge
    assert "2019-03-04 WO-1187 (corrective, completed, code SURGE): Compressor surged 4 times on load shed" in text
    assert text.index("Most likely causes") < text.index("Records:")  # causes before the history
    assert "Isolate first" not in text  # no LOTO in the evidence: nothing invented
    assert check_citations(text, COMPRESSOR).grounded and shape_problems(text) == []
    assert "not say" not in text  # nothing asked about is missing


def test_a_value_the_guards_cut_from_the_text_is_not_written_back_from_the_fields():
    work = work_order(
        "WO-9", "P-101", "CM", "CLOSE", "2025-01-01", "2025-01-02", None, "Called J. Smith on 07700 900456"
    )
    scrubbed = Evidence(
        work.id,
        work.kind,
        work.text.replace("J. Smith on 07700 900456", "<PERSON> on <PHONE>"),
        work.title,
        work.fields,
    )
    text = answer_of([scrubbed], Understanding("What happened on P-101?", "history"))
    assert "Smith" not in text and "900456" not in text and "WO-9" in text


def test_evidence_without_fields_still_reads_as_a_sentence():
    bare = Evidence("graph:FMEAEntry:X", "graph", "component_name: Seal; mode_name: Leak; causes: ['Worn faces.']")
    text = answer_of([bare], Understanding("Why does X leak?", "general"))
    assert shape_problems(text) == [] and "Worn faces" in text and "[graph:FMEAEntry:X]" in text


def test_what_is_missing_is_said_only_for_what_the_question_names_or_turns_on():
    seen = pump_question("When does the warranty on P-101 run out?", "general")
    assert "do not say anything about warranty" in answer_of(SAMPLE_PLANT, seen)
    # What the asker says of themselves is not what they ask: only the sentences that ask count.
    introduced = pump_question("I'm Jo Bloggs, the new reliability engineer. When does the warranty on P-101 run out?",
                               "general")  # fmt: skip
    told = answer_of(SAMPLE_PLANT, introduced)
    assert "do not say anything about warranty." in told and "reliability" not in told and "engineer" not in told
    named = pump_question("P-101 drive-end bearing is hot, what should I check?")
    assert "not say" not in answer_of(SAMPLE_PLANT, named) and "hold nothing" not in answer_of(SAMPLE_PLANT, named)
    other = Understanding(
        "Is P-102 hot?", "diagnose", equipment=[Candidate("Equipment", "P-102", "Raw water lift pump 2", 100, "")]
    )  # type: ignore[arg-type]
    assert "The records retrieved hold nothing about P-102." in answer_of(COMPRESSOR, other)


def test_nothing_retrieved_is_said_so():
    done = finish("", [], Understanding("Why is it hot?", "diagnose"), [])
    assert done.text.startswith("I found nothing") and done.cited == []


def test_the_answer_shape_check_catches_a_record_dump():
    dump = (
        "- component_name: Drive-end radial bearing; causes: ['Housing packed too full'] [graph:FMEAEntry:X]\n"
        "- steps: ['Raise a permit to work and tell the control room… [graph:LOTOProcedure:L]"
    )
    assert shape_problems(dump) == ["raw field name", "python list or dict", "cut short"]
    assert shape_problems("Purge the grease [wo:WO-25-00077].") == []
    assert read_length("Purge it [wo:WO-25-00077]. Then check [graph:Sensor:TT-101-DE] [wo:WO-25-00077].") == len(
        "Purge it [1]. Then check [2] [1]."
    )


def test_the_not_checked_note_names_sources_in_words():
    from maintgraph.agent.synthesis import not_checked_note

    note = not_checked_note(["cmms asset_history: the CMMS is unavailable"])
    assert note == "Could not check: cmms asset history: the CMMS is unavailable" and shape_problems(note) == []


# -- what the answer keeps of the evidence (issue 28: recall not below the record dump's) -----------------


def doc(ref: str, text: str) -> Evidence:
    return Evidence(f"doc:k201-docs:{ref}", "doc", text, ref, {})


def compressor_question(question: str, intent: str = "diagnose") -> Understanding:
    return Understanding(
        question, intent, equipment=[Candidate("Equipment", "K-201", "Instrument air compressor 1", 100, "")]
    )  # type: ignore[arg-type]


# A datasheet's table flattened into text, as a manual's chunk reads: rows run on without a full stop.
DATASHEET = doc(
    "manuals/k201-datasheet.md#4",
    "Sensor: PT-201-D; Measures: stage 1 discharge pressure; Alarm: 2.6 bar(g); Trip: 2.8 bar(g) "
    "Sensor: TT-M305-WDG; Measures: M-305 winding temperature; Alarm: 140 °C; Trip: 155 °C "
    "Sensor: TT-M201-WDG; Measures: M-201 winding temperature; Alarm: 130 °C; Trip: 145 °C "
    "Sensor: TT-201-OIL; Measures: lube oil temperature; Alarm: 60 °C; Trip: 65 °C",
)


def test_a_table_row_is_quoted_whole_and_the_row_of_the_asked_machine_is_chosen():
    from maintgraph.agent.wording import rows

    assert (
        rows(DATASHEET.text)[2]
        == "Sensor: TT-M201-WDG; Measures: M-201 winding temperature; Alarm: 130 °C; Trip: 145 °C"
    )
    assert rows("Note: stop the compressor; vent it. Then open the drain.") == [
        "Note: stop the compressor; vent it. Then open the drain."
    ]
    seen = compressor_question("Which sensor reads the K-201 motor winding temperature?", "general")
    # M-201 drives K-201 (the same loop number): its row is the one quoted, whole, with its alarm and trip.
    quoted = compose.document_sentences(DATASHEET, synthesis_asked(seen))[0].quoted
    assert quoted[0][1] == "Sensor: TT-M201-WDG; Measures: M-201 winding temperature; Alarm: 130 °C; Trip: 145 °C."
    assert not any("M-305" in text for _, text in quoted)
    text = answer_of([DATASHEET], seen)  # the other rows only where the answer has room, in the table's order
    assert (
        "Sensor: TT-M201-WDG; Measures: M-201 winding temperature; Alarm: 130 °C; Trip: 145 °C." in text
        and shape_problems(text) == []
    )


def test_a_figure_keeps_the_sentence_that_says_what_it_is_about():
    handover = doc(
        "notes/compressor-house-handover.txt#2",
        "Compressor house: 4. Air dryer dew point on AT-201-DP. Normal is -40 to -35 °C. Alarm is -20 °C. "
        "5. Receiver drain on LS-201. Check it cycles every 10 minutes.",
    )
    seen = compressor_question("The air dryer dew point is creeping up. Which reading and alarm should I watch?")
    text = answer_of([handover], seen)
    assert "Air dryer dew point on AT-201-DP. Normal is -40 to -35 °C. Alarm is -20 °C." in text
    assert "4. Air dryer" not in text  # the note's own list number is not read as one of the answer's steps


def test_a_sentence_between_two_quoted_ones_is_not_skipped_and_room_left_is_filled_in_order():
    note = doc(
        "notes/rca-k201-surge.txt#1",
        "K-201 surged four times in 2019 on load shed. Each event tripped the compressor and the site ran on "
        "the standby unit. The blow-off valve positioner was found sticking every time. The positioner was "
        "replaced with a faster model in June 2019. Since then the surge counter has stayed at zero.",
    )
    pieces = [s.strip() for s in note.text.split(". ")]
    lookup = answer_of([note], compressor_question("Why did K-201 surge on load shed?", "general"))
    assert pieces[0] in lookup and pieces[2] in lookup and pieces[1] in lookup  # the one between: kept
    overview = answer_of([note], compressor_question("What failure patterns recur on the air compressors?", "general"))
    assert all(p.rstrip(".") in overview for p in pieces)  # an overview has room: the whole note, in its order
    assert overview.index(pieces[3]) < overview.index(pieces[4]) and shape_problems(overview) == []
    assert read_length(overview) <= compose.OVERVIEW_CHARS


def test_a_record_worded_with_a_prefix_answers_the_question_word():
    history = [
        work_order("WO-2231", "CH-6", "PM", "COMP", "2021-05-03", "2021-05-03", None, "QTRLY REGREASE CW PUMP MOTOR"),
        *[
            work_order(
                f"WO-22{n:02d}", "CH-6", "PM", "COMP", f"2021-0{n % 9 + 1}-01", None, None, f"Tube clean, lot {n}"
            )
            for n in range(12)
        ],
    ]
    seen = Understanding("When was CH-6 last greased, and how often?", "history")
    assert compose.relevance("QTRLY REGREASE CW PUMP MOTOR", synthesis_asked(seen)) >= 1
    assert "WO-2231" in answer_of(history, seen)


def synthesis_asked(seen: Understanding) -> compose.Asked:
    from maintgraph.agent.synthesis import asked

    return asked(seen)


def test_a_question_asking_several_things_gets_each_answered_the_part_included():
    causes = [
        graph_fact(
            f"FMEAEntry:K-201/BOV/SURGE/cause-{n}",
            {
                "component_name": "Blow-off valve",
                "mode": "SURGE",
                "mode_name": "Surge",
                "causes": [f"Positioner response too slow after {word}; air supply to the positioner restricted"],
                "recommended_action": "Stroke test the blow-off valve to full open in under 1.5 s each quarter",
                "check_sensor": "Sensor:PT-201-D",
                "sensor_unit": "bar(g)",
                "sensor_alarm_high": 2.6,
                "sensor_trip_high": 2.8,
            },
            "failure_modes",
        )
        for n, word in enumerate(["a filter change", "a cold start", "a positioner swap", "a power dip", "icing"])
    ]
    kit = graph_fact(
        "SparePart:BOV-POS-KIT",
        {
            "relation": "HAS_PART",
            "from": "Component:K-201/BOV",
            "to": "SparePart:BOV-POS-KIT",
            "name": "Blow-off valve positioner repair kit",
        },
        "equipment_neighbourhood",
    )
    seen = compressor_question("K-201 keeps surging. Which sensor shows it, and which kit do I order to fix it?")
    seen.failure_terms = [Candidate("FailureMode", "SURGE", "Surge", 90, "surging")]  # type: ignore[arg-type]
    manuals = [
        doc(
            f"manuals/k201-om.md#{n}",
            f"K-201 surging shows on sensor PT-201-D as a saw-tooth in discharge pressure ({case}). To fix it, stroke "
            "the blow-off valve and check which sensor alarmed first; surging that keeps coming back needs the "
            "anti-surge controller re-tuned.",
        )
        for n, case in enumerate(["first case", "second case", "third case"])
    ]
    text = answer_of([*causes, *manuals, kit], seen)
    assert (
        "PT-201-D" in text and "Parts:\nK-201/BOV takes BOV-POS-KIT" in text
    )  # the kit asked for: a part, not context
    assert read_length(text) <= compose.DIAGNOSIS_CHARS + 150 and shape_problems(text) == []
