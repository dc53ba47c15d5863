"""AssetOpsBench work-order scenarios (ids 400-435) as plain data.

Source: ``assetopsbench/scenarios/single_agent/wo_utterance.json`` in the
shared data directory; the data they refer to is
``assetopsbench/sample_data/``.  This module is data only: it reads no files
and defines no functions.  The AssetOpsBench evaluation set
(:func:`maintgraph.evals.sets.load_assetopsbench`) and the CMMS tool tests use it.

Every id 400-435 appears in exactly one of:

* ``SCENARIOS`` -- list of dicts
  ``{"id": int, "text": str, "query": dict, "answer": dict, "why": str}``.
  ``text`` is the utterance verbatim, ``query`` a backend-neutral
  description of what to compute, ``answer`` the expected result,
  ``why`` how the answer follows from the characteristic_form and the CSVs.
* ``EXCLUDED`` -- ``{id: reason}`` for scenarios whose answer is
  LLM-dependent, not computable from sample_data, or where the
  characteristic_form disagrees with the data.

Date convention
---------------
``date_from`` / ``date_to`` are ISO dates (``YYYY-MM-DD``) and the range is
half-open: ``date_from <= t < date_to`` with both bounds at midnight.  "Year
2017" is ``["2017-01-01", "2018-01-01")``, "June 2020" is
``["2020-06-01", "2020-07-01")``.  This matters: an alert of CWC04009 starts at
exactly ``2020-06-01 00:00`` and would be counted in May 2020 by an
inclusive ``<= 2020-06-01`` bound (scenarios 408/409).

Which timestamp defines "when"
------------------------------
* work orders: ``actual_finish`` of ``all_wo_with_code_component_events.csv``,
  format ``%m/%d/%y %H:%M`` (e.g. ``4/6/16 14:00``, no zero padding, 2-digit
  year).
* events: ``event_time`` of ``event.csv``, format ``%Y-%m-%d %H:%M:%S``.
  ``event.csv`` is the union of the three sources and agrees with them row for
  row (checked): WORK_ORDER rows = the 4249 work orders (same id, code,
  PM/CM = preventive TRUE/FALSE, time = actual_finish; one id differs in
  spelling, WO-16170 vs WO16170); ALERT rows = ``alert_events.csv``
  (event_type = rule_id, event_time = start_time, format ``%m/%d/%y %H:%M``);
  ANOMALY rows = ``anomaly_events.csv`` (timestamp, ``%m/%d/%y %H:%M``; that
  file has no equipment_id, only ``asset_name`` "chiller 9" = CWC04009; the
  KPI is embedded in event_type, e.g. "KPI Cooling Load above upper bound").
* a "day" (count_event_days) is the calendar date of event_time.

Query kinds
-----------
All filters are AND-ed; ``asset`` matches ``equipment_id`` exactly;
``preventive`` is True (column ``preventive`` == "TRUE"), False ("FALSE",
i.e. corrective) or None (no filter).

``count_work_orders``
    ``{"kind", "asset", "date_from", "date_to", "preventive", "primary_code"}``
    (``primary_code`` None = any) -> ``{"count": int}``; rows of the work-order
    CSV.
``code_distribution``
    ``{"kind", "asset", "date_from", "date_to", "preventive"}`` ->
    ``{"counts": {primary_code: int}}``; complete (every code present).
``count_events``
    ``{"kind", "asset", "date_from", "date_to", "event_group"}`` ->
    ``{"count": int}``.  (Defined for completeness; no scenario needs it.)

Kinds added because no scenario fits the three above:

``event_group_distribution``
    ``{"kind", "asset", "date_from", "date_to"}`` ->
    ``{"counts": {"WORK_ORDER": int, "ALERT": int, "ANOMALY": int}}`` --
    event.csv rows grouped by ``event_group``; all three keys are always
    present, zeros included.
``count_event_days``
    ``{"kind", "asset", "date_from", "date_to", "event_groups": [str, ...]}``
    -> ``{"count": int}`` -- number of distinct calendar days with at least
    one event.csv row whose event_group is in ``event_groups``.
``alert_anomaly_breakdown``
    ``{"kind", "asset", "date_from", "date_to"}`` ->
    ``{"alerts_by_rule": {rule_id: int}, "anomalies_by_kpi": {kpi: int}}`` --
    alerts counted per ``rule_id`` (alert_events.csv, start_time), anomalies
    per ``KPI`` (anomaly_events.csv, timestamp; asset CWC04009 = "chiller 9").
``bundle_work_orders``
    ``{"kind", "asset", "date_from", "date_to", "preventive", "max_gap_days",
    "min_size"}`` -> ``{"bundle_sizes": [int, ...]}`` -- sort the matching
    work orders by actual_finish, start a new group whenever the gap to the
    previous work order exceeds ``max_gap_days`` days (single linkage), keep
    groups with at least ``min_size`` work orders; sizes in chronological
    order.
``alert_failure_codes``
    ``{"kind", "asset", "date_from", "date_to"}`` ->
    ``{"rule_ids": [str], "primary_codes": [str]}`` -- distinct rule_ids of the
    asset's alerts in the range, and the distinct primary_codes mapped to them
    by ``alert_rule_failure_code_mapping.csv``; both lists sorted.
``alert_rule_failure_codes``
    ``{"kind", "rule_id"}`` -> ``{"primary_codes": [str]}`` -- sorted
    primary_codes mapped to the rule in
    ``alert_rule_failure_code_mapping.csv``.

How answers were verified
-------------------------
Each answer was taken from the characteristic_form and recomputed with a
throw-away script using only the ``csv`` and ``datetime`` modules (no pandas):
``all_wo_with_code_component_events.csv`` columns equipment_id, preventive,
primary_code, actual_finish (``%m/%d/%y %H:%M``); ``event.csv`` columns
equipment_id, event_group, event_type, event_time (``%Y-%m-%d %H:%M:%S``);
``alert_events.csv`` equipment_id, rule_id, start_time (``%m/%d/%y %H:%M``);
``anomaly_events.csv`` KPI, timestamp (``%m/%d/%y %H:%M``);
``alert_rule_failure_code_mapping.csv`` rule_id, primary_code.
Where the characteristic_form states only part of an answer (401) the rest
was filled in from the data and the ``why`` says so.
"""

SCENARIOS = [
    {
        "id": 400,
        "text": "Get the work order of equipment CWC04013 for year 2017.",
        "query": {
            "kind": "count_work_orders",
            "asset": "CWC04013",
            "date_from": "2017-01-01",
            "date_to": "2018-01-01",
            "preventive": None,
            "primary_code": None,
        },
        "answer": {"count": 33},
        "why": "characteristic_form: 'There will be 33 records'. Data: 33 rows "
        "for CWC04013 with actual_finish in 2017 (31 preventive + 2 corrective).",
    },
    {
        "id": 401,
        "text": "I would like to check the work order distribution for the "
        "equipment labeled as CWC04013 for the year 2017.",
        "query": {
            "kind": "code_distribution",
            "asset": "CWC04013",
            "date_from": "2017-01-01",
            "date_to": "2018-01-01",
            "preventive": None,
        },
        "answer": {"counts": {"MT001": 28, "MT010": 3, "MT013": 1, "MT002": 1}},
        "why": "characteristic_form names only 'MT010 occurred 3 times and code "
        "MT013 occurred once'; both agree with the data. It omits MT001 "
        "(Routine Maintenance, 27 preventive + 1 corrective) and MT002 "
        "(Cleaning, 1 corrective), which the data also has; the full "
        "distribution of the 33 work orders (sums to 33) is the answer.",
    },
    {
        "id": 402,
        "text": "I would like to retrieve the preventive work order details for "
        "the equipment labeled as CWC04013 for the year 2017.",
        "query": {
            "kind": "count_work_orders",
            "asset": "CWC04013",
            "date_from": "2017-01-01",
            "date_to": "2018-01-01",
            "preventive": True,
            "primary_code": None,
        },
        "answer": {"count": 31},
        "why": "characteristic_form: '31 preventive work orders'. Data: 31 rows "
        "with preventive == TRUE (MT001 27, MT010 3, MT013 1).",
    },
    {
        "id": 403,
        "text": "I would like to retrieve the corrective work order details for "
        "the equipment labeled as CWC04013 for the year 2017.",
        "query": {
            "kind": "count_work_orders",
            "asset": "CWC04013",
            "date_from": "2017-01-01",
            "date_to": "2018-01-01",
            "preventive": False,
            "primary_code": None,
        },
        "answer": {"count": 2},
        "why": "characteristic_form: 'two corrective work orders'. Data: "
        "WO291095 (5/11/17, MT001) and WO291098 (5/12/17, MT002), "
        "preventive == FALSE.",
    },
    {
        "id": 404,
        "text": "Get the events of equipment CWC04009 for year 2019 and provide a "
        "summary based on the event group, such as work order event, alerts "
        "and anomaly events.",
        "query": {
            "kind": "event_group_distribution",
            "asset": "CWC04009",
            "date_from": "2019-01-01",
            "date_to": "2020-01-01",
        },
        "answer": {"counts": {"WORK_ORDER": 14, "ALERT": 0, "ANOMALY": 0}},
        "why": "characteristic_form: '14 work orders, 0 alert, and 0 anomaly'. "
        "Data: event.csv has 14 WORK_ORDER rows for CWC04009 in 2019 (all PM, "
        "same 14 rows in the work-order CSV); alerts and anomalies of "
        "CWC04009 only start in April 2020.",
    },
    {
        "id": 405,
        "text": "Get all the events of equipment CWC04009 for the June of 2020 and "
        "provide a summary based on the event group for work order, alert, "
        "and anomaly.",
        "query": {
            "kind": "event_group_distribution",
            "asset": "CWC04009",
            "date_from": "2020-06-01",
            "date_to": "2020-07-01",
        },
        "answer": {"counts": {"WORK_ORDER": 3, "ALERT": 30, "ANOMALY": 30}},
        "why": "characteristic_form: '3 work order events, 30 alert events, and "
        "30 anomaly events'. Data: event.csv June 2020 for CWC04009: "
        "WORK_ORDER 3 (WO367822 MT013, WO358651 MT001, WO362353 MT010), "
        "ALERT 30 (all RUL0018), ANOMALY 30.",
    },
    {
        "id": 406,
        "text": "Get the summary of the events of equipment CWC04009 for the June "
        "of 2020 and provide a summary based on the event group.",
        "query": {
            "kind": "event_group_distribution",
            "asset": "CWC04009",
            "date_from": "2020-06-01",
            "date_to": "2020-07-01",
        },
        "answer": {"counts": {"WORK_ORDER": 3, "ALERT": 30, "ANOMALY": 30}},
        "why": "characteristic_form: '30 alerts, 30 anomalies, and 3 work orders'. Same query and data as 405.",
    },
    {
        "id": 407,
        "text": "Get the daily count of the events of alert, anomaly for 2021 for equipment CWC04009.",
        "query": {
            "kind": "count_event_days",
            "asset": "CWC04009",
            "date_from": "2021-01-01",
            "date_to": "2022-01-01",
            "event_groups": ["ALERT", "ANOMALY"],
        },
        "answer": {"count": 82},
        "why": "characteristic_form: '82 days have events'. Data: 76 alerts + "
        "178 anomalies in 2021 fall on 82 distinct dates (alerts alone: 66 "
        "days; adding work orders: 95 days).",
    },
    {
        "id": 408,
        "text": "Get the daily count of the events of alert, anomaly for the May 2020 for equipment CWC04009.",
        "query": {
            "kind": "count_event_days",
            "asset": "CWC04009",
            "date_from": "2020-05-01",
            "date_to": "2020-06-01",
            "event_groups": ["ALERT", "ANOMALY"],
        },
        "answer": {"count": 26},
        "why": "characteristic_form: '26 days have events'. Data: 24 alerts + "
        "108 anomalies in May 2020 on 26 distinct dates. Needs the half-open "
        "bound: the alert at 2020-06-01 00:00 would make it 27.",
    },
    {
        "id": 409,
        "text": "Get the daily count of alert, anomaly and work order event for the May 2020 for equipment CWC04009.",
        "query": {
            "kind": "count_event_days",
            "asset": "CWC04009",
            "date_from": "2020-05-01",
            "date_to": "2020-06-01",
            "event_groups": ["ALERT", "ANOMALY", "WORK_ORDER"],
        },
        "answer": {"count": 26},
        "why": "characteristic_form: '26 days with the records' (the per-day "
        "layout is LLM-dependent, the day count is not). Data: the 5 May 2020 "
        "work orders fall on days that already have alerts/anomalies, so "
        "still 26 dates.",
    },
    {
        "id": 410,
        "text": "Get all the events of equipment CWC04009 for the first week of "
        "June of 2020 and provide a summary based on the event group for work "
        "order event, alert, and anomaly.",
        "query": {
            "kind": "event_group_distribution",
            "asset": "CWC04009",
            "date_from": "2020-06-01",
            "date_to": "2020-06-08",
        },
        "answer": {"counts": {"WORK_ORDER": 0, "ALERT": 6, "ANOMALY": 0}},
        "why": "characteristic_form: 'There are 6 alert records' (its trailing "
        "'First week of May 2020' is a copy error; May 1-7 has 7 alerts and 58 "
        "anomalies). Data: one RUL0018 alert at 00:00 on each of June 1-6; "
        "nothing on June 7; the first June anomalies are on June 8, so "
        "[06-01, 06-08) gives exactly 6 alerts.",
    },
    {
        "id": 419,
        "text": "Using your knowledge of the industrial asset, can you suggest me "
        "a work order for alert RUL0014 with the context of 'Chiller - Cooling "
        "Substance Delta T Low' for closed-loop water-cool chiller its load is "
        "higher than the upper bound?",
        "query": {"kind": "alert_rule_failure_codes", "rule_id": "RUL0014"},
        "answer": {"primary_codes": ["M013", "M014"]},
        "why": "characteristic_form asks for 'one or more primary failure codes' "
        "without naming them; the computable part is the rule mapping: "
        "alert_rule_failure_code_mapping.csv maps RUL0014 to M013 (Condenser "
        "Plugged) and M014 (Condenser Tube Leak).",
    },
    {
        "id": 420,
        "text": "Assume today is early of July 2020, I would like to review the "
        "performance of chiller 9 with equipment ID CWC04009 for June 2020 and "
        "track any anomalies or operation violations as alerts.",
        "query": {
            "kind": "alert_anomaly_breakdown",
            "asset": "CWC04009",
            "date_from": "2020-06-01",
            "date_to": "2020-07-01",
        },
        "answer": {
            "alerts_by_rule": {"RUL0018": 30},
            "anomalies_by_kpi": {
                "Cooling Load": 12,
                "Flow Efficiency": 9,
                "Delta Setpoint": 6,
                "Delta Temperature": 3,
            },
        },
        "why": "characteristic_form: '30 alerts for Chiller - Evaporator "
        "Approach High' (= RUL0018 in alert_rule.csv) and anomalies 'Cooling "
        "Load (12), Flow Efficiency (9), Delta Setpoint (6), Delta Temperature "
        "(3)'. Data matches exactly (alert_events.csv start_time, "
        "anomaly_events.csv timestamp; event.csv gives the same counts).",
    },
    {
        "id": 424,
        "text": "Can you provide guidance on bundling corrective work orders "
        "together to optimize the maintenance schedule for Chiller 9 with "
        "equipment ID CWC04009 covering years of 2017, 2018 and 2019, bundle "
        "has to be happen within two weeks and have at least two work orders, "
        "also tell the details of each bundle?",
        "query": {
            "kind": "bundle_work_orders",
            "asset": "CWC04009",
            "date_from": "2017-01-01",
            "date_to": "2020-01-01",
            "preventive": False,
            "max_gap_days": 14,
            "min_size": 2,
        },
        "answer": {"bundle_sizes": [15, 6, 2]},
        "why": "characteristic_form: 'three bundles ... size of 15, 6 and 2'. "
        "Data: 30 corrective work orders (all in 2017-2018). Chaining gaps of "
        "at most 14 days gives 5/8/17-6/20/17 (15; largest gap 13 days, "
        "5/30->6/12), 2/23/18-3/7/18 (6) and 6/9/18-6/19/18 (2); every other "
        "work order is isolated. Same result for any gap limit 11-19 days. A "
        "fixed 14-day window from each bundle's first order would instead "
        "give 5, 2, 8, 6, 2, so the chaining rule is the one that matches.",
    },
    {
        "id": 435,
        "text": "Assume today is early of July 2020, I would like to review the "
        "alerts for chiller 9 with equipment ID CWC04009 for June 2020 and the "
        "work order should be generated based on the type of alerts.",
        "query": {
            "kind": "alert_failure_codes",
            "asset": "CWC04009",
            "date_from": "2020-06-01",
            "date_to": "2020-07-01",
        },
        "answer": {"rule_ids": ["RUL0018"], "primary_codes": ["M003", "M010"]},
        "why": "characteristic_form: two work orders, 'compressor failure (M010)' "
        "and 'deformation (M003)'. Data: all 30 June 2020 alerts are RUL0018 "
        "(Evaporator Approach High), which alert_rule_failure_code_mapping.csv "
        "maps to exactly M003 (Deformation) and M010 (Compressor Failure).",
    },
]

EXCLUDED = {
    411: "characteristic_form ('two bundles, 10 and 3' corrective WOs in 2017) "
    "disagrees with the data: CWC04009 has 20 corrective WOs in 2017; "
    "chaining gaps <= 14 days (the rule that reproduces 424) gives one bundle "
    "of 15 (5/8-6/20/17); a fixed 14-day window gives 5, 2, 8; 14-day "
    "calendar bins give 5, 2, 4, 4. No reasonable rule yields 10 and 3.",
    412: "non-deterministic: next-work-order probabilities for CWC04013 with "
    "no date or method given; characteristic_form states no values.",
    413: "not computable from the utterance alone: 'MT012 has probability 0.2' "
    "holds only if history is cut to 2017-01-01..2018-01-02 (39 WOs, last "
    "code MT012; forward Markov row MT012->MT012 0.2, M013 0.2, six others "
    "0.1). With all history up to 2018-01-02 (213 WOs) P(MT012->MT012) = "
    "0.357. The 2017 start is not in the text.",
    414: "characteristic_form disagrees with the data: 'MT012, MT008 and M013 "
    "each 0.2' is not the forward Markov row from the last code (MT012) for "
    "any history start date up to 2018-01-02 (2017 window: MT012 0.2, M013 "
    "0.2, MT008 0.1). "
    "It matches the transposed matrix (P(previous code | next = MT012)) on "
    "2017-01-01..2018-01-02, which also gives MT013 0.2, MT011 0.1, M009 0.1. "
    "The public AssetOpsBench tool builds pd.DataFrame(counts) with columns = "
    "current code and then reads .loc[last_type], which looks like that "
    "transposition. Also inconsistent with 413.",
    415: "non-deterministic: characteristic_form gives only 'a possible "
    "example' (50% MT010 / 50% MT013); no defined anomaly->work-order "
    "statistic.",
    416: "non-deterministic LLM recommendation ('top three work orders'); no codes given in characteristic_form.",
    417: "LLM recommendation; characteristic_form expects 'three work order "
    "types', but anomaly_to_failure_code_mapping.csv maps Cooling Load / "
    "High to only two codes (EX001, H001), so the mapping does not give the "
    "stated answer.",
    418: "LLM recommendation ('top three corrective actions'); no codes given. "
    "(For reference, the mapping gives Cooling Load High -> EX001, H001 and "
    "Delta Setpoint High -> CS006, three codes in all, but 417 shows the "
    "'three' comes from the question, not from the mapping.)",
    421: "LLM recommendation over May-June 2020 alerts/anomalies; characteristic_form gives no specific codes.",
    422: "LLM judgement ('zero or more' codes, recommend or wait); no deterministic answer.",
    423: "LLM prioritisation ('zero or more' codes with priorities); no deterministic answer.",
    425: "open-ended method description; nothing to compute.",
    426: "not computable from sample_data: the causal linkages it names "
    "(Misalignment; 'Insufficient Insulation') come from LLM reasoning; "
    "'Insufficient Insulation' is not a code in failure_codes.csv "
    "(only E003 Insulation Failure) and no causal data exists.",
    427: "LLM-dependent ('results may vary'); no definition of 'meaningful' alerts in the data.",
    428: "open-ended rule generation; nothing to compute.",
    429: "open-ended explanation ('one or more alert rule codes'); no fixed answer.",
    430: "LLM review and guideline ('one or more' codes); the stated period is "
    "also inconsistent ('two month's period' vs 2020-05-01..2022-06-30).",
    431: "LLM-dependent ('zero or one' code; 'outcome depends on the LLM').",
    432: "LLM-dependent ('zero or more' codes; 'outcome depends on the LLM').",
    433: "LLM-dependent description and recommendation for condenser fouling; no fixed answer.",
    434: "LLM-dependent description and conditional recommendation; no fixed answer.",
}
