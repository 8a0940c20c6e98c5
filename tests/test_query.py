"""The EPCIS 2.0 query engine: every parameter family, ordering, pages, limits, errors, plans.

Each test runs on SQLite and PostgreSQL (the ``store`` fixture) against one seeded history: two
battery lifecycles (imported first) and hand-made events covering the other event fields
(imported second, so that record times split the store in two).
"""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

import ionledger.services.query as query_module
from factory import code, document, event, lifecycle, urn, vin
from ionledger.domain.identity import canonical_id
from ionledger.services.importer import Importer
from ionledger.services.query import (
    QueryError,
    QueryTooLarge,
    class_key,
    epcis_values,
    parse_query,
    run_query,
)
from ionledger.settings import Settings
from ionledger.store.port import EventStore, PreparedEvent, ProjectionDelta, StoredEvent
from ionledger.store.sql import SqlStore, selection_sql

LIFECYCLE = ("c_mods", "c_pack", "agg", "inst", "sell", "rem", "test")
SGLN_A, SGLN_B, SGLN_C = (f"urn:epc:id:sgln:{x}.0" for x in ("0614141.00777", "0614141.00888",
                                                            "0614142.00001"))  # fmt: skip
GIAI_1, GIAI_2 = "urn:epc:id:giai:4000001.111", "urn:epc:id:giai:4000001.222"
SGTIN_2017 = "urn:epc:id:sgtin:0614141.107346.2017"
GRAI_400 = "urn:epc:id:grai:0614141.12345.400"
OUT_CLASS = class_key("urn:epc:idpat:sgtin:4012345.012348.*")  # a GTIN's Digital Link


def day(n: int, hour: int = 10) -> str:
    return f"2024-03-{n:02d}T{hour:02d}:00:00.000+08:00"


@dataclass
class Seeded:
    store: EventStore
    events: dict[str, dict[str, Any]]  # name -> the event as captured
    packs: tuple[str, str]
    module: str  # a module of the first pack
    new_module: str  # made by the transformation
    second_import: str  # record time of the second import's events

    def label(self, stored: StoredEvent) -> str:
        doc = json.loads(stored.doc)
        if "errorDeclaration" in doc:
            return "err"
        return next(n for n, e in self.events.items() if e["eventID"] == doc["eventID"])

    def page(self, params: Mapping[str, str | Sequence[str]], per_page: int = 100) -> list[str]:
        result = run_query(self.store, parse_query(_params(params)), per_page=per_page)
        assert result.next_cursor is None
        return [self.label(e) for e in result.events]

    def find(self, **params: str) -> set[str]:
        found = self.page(params)
        assert len(found) == len(set(found)), found  # no event twice
        return set(found)


def _params(params: Mapping[str, str | Sequence[str]]) -> dict[str, list[str]]:
    return {k: [v] if isinstance(v, str) else list(v) for k, v in params.items()}


def _import(store: EventStore, events: list[dict[str, Any]]) -> None:
    report = Importer(store, Settings(database_url=store.url)).import_stream(
        io.BytesIO(json.dumps(document(events)).encode())
    )
    assert report.ok, [e.message for e in report.errors]


def _hand_made(packs: tuple[str, str], module: str, new_module: str) -> dict[str, dict[str, Any]]:
    sell1_copy: dict[str, Any] = {}  # filled by seed(): the error declaration repeats sell1
    return {
        "ship": event(
            epcList=[urn(packs[0])], bizStep="shipping", disposition="in_transit",
            eventTime=day(20), readPoint={"id": SGLN_A}, bizLocation={"id": SGLN_B},
            persistentDisposition={"set": ["in_transit"],
                                   "unset": ["https://ref.gs1.org/cbv/Disp-active"]},
            bizTransactionList=[
                {"type": "po", "bizTransaction": "https://erp.example.com/po/1"},
                {"type": "https://ref.gs1.org/cbv/BTT-desadv",
                 "bizTransaction": "https://erp.example.com/desadv/9"},
            ],
            sourceList=[{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}],
            destinationList=[{"type": "https://ref.gs1.org/cbv/SDT-owning_party",
                              "destination": "urn:epc:id:pgln:0614142.00000"}],
            **{"ion:declaredAt": "2024-03-20T12:00:00.000+08:00",
               "ion:carrier": {"ion:name": "SF Express", "ion:vehicles": 3}},
        ),
        "receive": event(
            epcList=[urn(packs[0])], bizStep="receiving", disposition="in_progress",
            eventTime=day(21), readPoint={"id": SGLN_C, "ion:dock": "7"},
            bizLocation={"id": SGLN_B}, **{"ion:declaredAt": "2024-03-22T09:00:00Z"},
        ),
        "bulk": event(
            action="ADD", bizStep="commissioning", disposition="active", eventTime=day(22),
            quantityList=[
                {"epcClass": "urn:epc:class:lgtin:4012345.012345.LOT1", "quantity": 200,
                 "uom": "KGM"},
                {"epcClass": "urn:epc:idpat:sgtin:4012345.012346.*", "quantity": 5},
            ],
            ilmd={"ion:chemistry": "NMC811", "ion:ratedEnergyKWh": 75.0},
        ),
        "sgtin_obs": event(epcList=[SGTIN_2017, GRAI_400], bizStep="storing", eventTime=day(23)),
        "sgtin_link": event(
            epcList=[canonical_id("urn:epc:id:sgtin:0614141.107346.2018").replace(
                "https://id.gs1.org", "https://example.com")],
            eventTime=day(24),
        ),
        "transform": event(
            "TransformationEvent", inputEPCList=[urn(module)], outputEPCList=[urn(new_module)],
            transformationID="urn:ionledger:transformation:rp-1", bizStep="ion:repurposing",
            eventTime=day(25),
            inputQuantityList=[{"epcClass": "urn:epc:idpat:sgtin:4012345.012347.*",
                                "quantity": 3.5, "uom": "KGM"}],
            outputQuantityList=[{"epcClass": OUT_CLASS + "/10/LOTX", "quantity": 3500,
                                 "uom": "GRM"}],
            ilmd={"ion:chemistry": "LFP", "ion:capacityAh": 150.0},
        ),
        "sensor": event(
            epcList=[urn(packs[1])], bizStep="inspecting", eventTime=day(26),
            sensorElementList=[
                {
                    "sensorMetadata": {
                        "time": day(26, 9), "startTime": day(26, 8), "endTime": day(26, 9),
                        "deviceID": GIAI_1, "bizRules": "https://example.com/rules/1",
                    },
                    "sensorReport": [
                        {"type": "Temperature", "value": 26.0, "uom": "CEL"},
                        {"type": "gs1:Resistance", "value": 0.0019, "uom": "OHM",
                         "dataProcessingMethod": "https://example.com/dpm/1"},
                        {"type": "Voltage", "value": 3.4, "uom": "VLT", "stringValue": "ok",
                         "booleanValue": True, "hexBinaryValue": "0a1b",
                         "uriValue": "https://example.com/u", "percRank": 95, "percValue": 3.5},
                    ],
                },
                {
                    "sensorReport": [
                        {"type": "Temperature", "value": 80, "uom": "FAH", "deviceID": GIAI_2,
                         "time": "2024-03-26T09:30:00+08:00", "ion:probe": "inner"},
                    ]
                },
            ],
        ),
        "err": sell1_copy,
        "txn": event(
            "TransactionEvent", action="ADD", epcList=[urn(packs[1])], eventTime=day(28),
            bizTransactionList=[{"type": "inv", "bizTransaction": "https://erp.example.com/inv/7"}],
        ),
    }  # fmt: skip


@pytest.fixture
def seeded(store: EventStore) -> Seeded:
    packs, modules = (code("P"), code("P")), [code("M"), code("M"), code("M")]
    new_module = code("M")
    first = lifecycle(packs[0], modules[:2], start_day=1)
    second = lifecycle(packs[1], modules[2:], start_day=10)
    events = {f"{n}1": e for n, e in zip(LIFECYCLE, first, strict=True)}
    events |= {f"{n}2": e for n, e in zip(LIFECYCLE, second, strict=True)}
    made = _hand_made(packs, modules[0], new_module)
    made["err"].update(events["sell1"])
    made["err"]["errorDeclaration"] = {
        "declarationTime": "2024-03-27T10:00:00.000+08:00",
        "reason": "incorrect_data",
        "correctiveEventIDs": [made["receive"]["eventID"]],
        "ion:ticket": "T-1",
    }
    _import(store, first + second)
    _import(store, list(made.values()))
    events |= made
    last = next(iter(store.iter_events(batch=100)))[-1]
    return Seeded(store, events, packs, modules[0], new_module, last.record_time)


# -- one test per parameter family -----------------------------------------------------------


def test_event_type_and_time_windows(seeded: Seeded) -> None:
    s = seeded
    assert s.find(eventType="TransformationEvent") == {"transform"}
    assert s.find(eventType="AggregationEvent|TransactionEvent") == {"agg1", "agg2", "txn"}
    assert s.find(eventType="AggregationEvent,TransformationEvent") == {"agg1", "agg2", "transform"}
    window = {"GE_eventTime": "2024-03-10T02:00:00Z", "LT_eventTime": "2024-03-13T00:00:00+08:00"}
    assert s.find(**window) == {"c_mods2", "c_pack2", "agg2"}
    second = {"ship", "receive", "bulk", "sgtin_obs", "sgtin_link", "transform", "sensor", "err",
              "txn"}  # fmt: skip
    assert s.find(GE_recordTime=s.second_import) == second
    first = {f"{n}{i}" for n in LIFECYCLE for i in (1, 2)}
    assert s.find(LT_recordTime=s.second_import) == first
    # A '+' sent unencoded arrives as a space; the offset is still read.
    assert s.find(GE_eventTime="2024-03-28T10:00:00 08:00") == {"txn"}


def test_action_biz_step_and_dispositions(seeded: Seeded) -> None:
    s = seeded
    added = {"c_mods1", "c_pack1", "agg1", "inst1", "c_mods2", "c_pack2", "agg2", "inst2", "bulk",
             "txn"}  # fmt: skip
    assert s.find(EQ_action="ADD") == added
    assert s.find(EQ_action="DELETE") == {"rem1", "rem2"}
    steps = "shipping|https://ref.gs1.org/cbv/BizStep-receiving"
    assert s.find(EQ_bizStep=steps) == {"ship", "receive"}
    assert s.find(EQ_bizStep="ion:repurposing") == {"transform"}
    assert s.find(EQ_disposition="in_transit") == {"ship"}
    sold = "https://ref.gs1.org/cbv/Disp-retail_sold"
    assert s.find(EQ_disposition=sold) == {"sell1", "sell2", "err"}
    assert s.find(EQ_disposition="ion:retired") == {"rem1", "rem2"}
    assert s.find(EQ_persistentDisposition_set="in_transit") == {"ship"}
    assert s.find(EQ_persistentDisposition_unset="active") == {"ship"}
    assert s.find(EQ_persistentDisposition_set="active") == set()


def test_read_point_and_biz_location(seeded: Seeded) -> None:
    s = seeded
    assert s.find(EQ_readPoint=SGLN_A) == {"ship"}
    assert s.find(WD_readPoint=f"{SGLN_A}|{SGLN_C}") == {"ship", "receive"}
    assert s.find(EQ_bizLocation=SGLN_B) == {"ship", "receive"}
    assert s.find(WD_bizLocation=SGLN_B, EQ_readPoint=SGLN_C) == {"receive"}
    assert s.find(EQ_readPoint=SGLN_B) == set()


def test_match_epc_family(seeded: Seeded) -> None:
    s = seeded
    pack1 = {"c_pack1", "inst1", "sell1", "rem1", "test1", "ship", "receive", "err"}
    pack2 = {"c_pack2", "inst2", "sell2", "rem2", "test2", "sensor", "txn"}
    assert s.find(MATCH_epc=urn(s.packs[0])) == pack1
    assert s.find(MATCH_epc=s.packs[0]) == pack1  # the bare GB/T code
    assert s.find(MATCH_epc=f"{urn(s.packs[0])}|{urn(s.packs[1])}") == pack1 | pack2
    assert s.find(MATCH_parentID=urn(s.packs[0])) == {"agg1"}
    assert s.find(MATCH_parentID=vin()) == {"inst1", "rem1", "inst2", "rem2"}
    assert s.find(MATCH_epc=urn(s.module)) == {"c_mods1", "agg1"}
    assert s.find(MATCH_anyEPC=urn(s.module)) == {"c_mods1", "agg1", "transform"}
    assert s.find(MATCH_inputEPC=urn(s.module)) == {"transform"}
    assert s.find(MATCH_outputEPC=urn(s.new_module)) == {"transform"}
    assert s.find(MATCH_inputEPC=urn(s.new_module)) == set()
    assert s.find(MATCH_epc=urn(s.module), MATCH_parentID=urn(s.packs[0])) == {"agg1"}
    # EPC patterns, Digital Links on any host, our own prefix patterns.
    both = {"sgtin_obs", "sgtin_link"}
    assert s.find(MATCH_epc="urn:epc:idpat:sgtin:0614141.107346.*") == both
    assert s.find(MATCH_epc="urn:epc:idpat:sgtin:0614141.*.*") == both
    assert s.find(MATCH_epc="urn:epc:idpat:sgtin:0614141.107347.*") == set()
    assert s.find(MATCH_epc="urn:epc:idpat:grai:0614141.12345.*") == {"sgtin_obs"}
    assert s.find(MATCH_anyEPC="urn:epc:idpat:grai:*.*.*") == {"sgtin_obs"}
    assert s.find(MATCH_epc=SGTIN_2017) == {"sgtin_obs"}
    assert s.find(MATCH_epc="https://id.gs1.org/01/10614141073464/21/2018") == {"sgtin_link"}
    assert s.find(MATCH_epc="urn:ionledger:gbt34014:03HP*") == pack1 | pack2
    assert s.find(MATCH_epc="03HM*") == {"c_mods1", "agg1", "c_mods2", "agg2"}
    assert s.find(MATCH_anyEPC="urn:ionledger:vin:LSV*") == {"inst1", "rem1", "inst2", "rem2"}


def test_match_epc_class_family(seeded: Seeded) -> None:
    s = seeded
    assert s.find(MATCH_epcClass="urn:epc:idpat:sgtin:4012345.012345.*") == {"bulk"}
    assert s.find(MATCH_epcClass="urn:epc:class:lgtin:4012345.012345.LOT1") == {"bulk"}
    assert s.find(MATCH_epcClass="urn:epc:class:lgtin:4012345.012345.LOT2") == set()
    assert s.find(MATCH_epcClass="urn:epc:idpat:sgtin:4012345.012346.*") == {"bulk"}
    assert s.find(MATCH_epcClass="urn:epc:idpat:sgtin:4012345.*.*") == {"bulk"}
    assert s.find(MATCH_epcClass="urn:epc:idpat:sgtin:4012345.012347.*") == set()
    assert s.find(MATCH_anyEPCClass="urn:epc:idpat:sgtin:4012345.*.*") == {"bulk", "transform"}
    assert s.find(MATCH_inputEPCClass="urn:epc:idpat:sgtin:4012345.012347.*") == {"transform"}
    assert s.find(MATCH_outputEPCClass=OUT_CLASS) == {"transform"}  # a GTIN: any of its lots
    lot = "urn:epc:class:lgtin:4012345.012348.LOTX"
    assert s.find(MATCH_outputEPCClass=lot) == {"transform"}


def test_quantities(seeded: Seeded) -> None:
    s = seeded
    assert s.find(GE_quantity="100") == {"bulk", "transform"}  # 200 KGM; 3500 GRM
    assert s.find(EQ_quantity="5") == {"bulk"}
    assert s.find(LT_quantity="4") == {"transform"}
    assert s.find(GE_quantity_KGM="3") == {"bulk", "transform"}
    assert s.find(GT_quantity_KGM="3.5") == {"bulk"}  # 3500 GRM is 3.5 KGM, not more
    assert s.find(EQ_quantity_GRM="3500") == {"transform"}
    assert s.find(LE_quantity_TNE="0.1") == {"transform"}
    assert s.find(EQ_quantity_KGM="200|3.5") == {"bulk", "transform"}


def test_event_id(seeded: Seeded) -> None:
    s = seeded
    assert s.find(EQ_eventID=s.events["sell1"]["eventID"]) == {"sell1", "err"}
    both = f"{s.events['ship']['eventID']},{s.events['receive']['eventID']}"
    assert s.find(EQ_eventID=both) == {"ship", "receive"}
    assert s.find(EQ_eventID="urn:uuid:nothing-like-it") == set()


def test_error_declarations(seeded: Seeded) -> None:
    s = seeded
    assert s.find(EXISTS_errorDeclaration="true") == {"err"}
    assert s.find(EXISTS_errorDeclaration="") == {"err"}
    assert len(s.find(EXISTS_errorDeclaration="false")) == len(s.events)  # does not constrain
    assert s.find(GE_errorDeclarationTime="2024-03-27T00:00:00Z") == {"err"}
    assert s.find(LT_errorDeclarationTime="2024-03-27T00:00:00Z") == set()
    assert s.find(EQ_errorReason="https://ref.gs1.org/cbv/ER-incorrect_data") == {"err"}
    assert s.find(EQ_correctiveEventID=s.events["receive"]["eventID"]) == {"err"}
    assert s.find(**{"EQ_ERROR_DECLARATION_ion:ticket": "T-1"}) == {"err"}


def test_biz_transactions_sources_and_destinations(seeded: Seeded) -> None:
    s = seeded
    assert s.find(EQ_bizTransaction_po="https://erp.example.com/po/1") == {"ship"}
    assert s.find(EQ_bizTransaction_desadv="https://erp.example.com/desadv/9") == {"ship"}
    assert s.find(EQ_bizTransaction_po="https://erp.example.com/desadv/9") == set()
    assert s.find(EQ_bizTransaction_inv="https://erp.example.com/inv/7") == {"txn"}
    assert s.find(EQ_source_owning_party="urn:epc:id:pgln:0614141.00000") == {"ship"}
    assert s.find(EQ_destination_owning_party="urn:epc:id:pgln:0614142.00000") == {"ship"}
    assert s.find(EQ_destination_owning_party="urn:epc:id:pgln:0614141.00000") == set()


def test_transformation_id(seeded: Seeded) -> None:
    assert seeded.find(EQ_transformationID="urn:ionledger:transformation:rp-1") == {"transform"}
    assert seeded.find(EQ_transformationID="urn:ionledger:transformation:rp-2") == set()


def test_ilmd_fields(seeded: Seeded) -> None:
    s = seeded
    commissioned = {"c_mods1", "c_pack1", "c_mods2", "c_pack2"}
    assert s.find(**{"EQ_ILMD_ion:chemistry": "LFP"}) == commissioned | {"transform"}
    assert s.find(**{"EQ_ILMD_ion:chemistry": "NMC811"}) == {"bulk"}
    assert s.find(**{"GT_ILMD_ion:ratedEnergyKWh": "60"}) == {"bulk"}
    assert s.find(**{"GE_ILMD_ion:ratedEnergyKWh": "60"}) == commissioned | {"bulk"}
    assert s.find(**{"EQ_ILMD_ion:ratedEnergyKWh": "75"}) == {"bulk"}
    assert s.find(**{"LE_ILMD_ion:massKg": "380"}) == commissioned
    assert s.find(**{"EXISTS_ILMD_ion:capacityAh": ""}) == {"transform"}


def test_extension_fields(seeded: Seeded) -> None:
    s = seeded
    assert s.find(**{"EQ_ion:province": "CN-SC"}) == {"rem1", "rem2"}
    assert s.find(**{"EQ_ion:reportedBy": "dismantler-1"}) == {"rem1", "rem2"}
    assert s.find(**{"EXISTS_ion:declaredAt": "true"}) == {"ship", "receive"}
    assert s.find(**{"GE_ion:declaredAt": "2024-03-21T00:00:00Z"}) == {"receive"}
    assert s.find(**{"LT_ion:declaredAt": "2024-03-21T00:00:00+00:00"}) == {"ship"}
    assert s.find(**{"EQ_ion:declaredAt": "2024-03-20T04:00:00Z"}) == {"ship"}  # same instant
    assert s.find(**{"EQ_INNER_ion:name": "SF Express"}) == {"ship"}
    assert s.find(**{"GT_INNER_ion:vehicles": "2"}) == {"ship"}
    assert s.find(**{"EQ_ion:name": "SF Express"}) == set()  # nested: only INNER_ finds it
    assert s.find(**{"EQ_readPoint_ion:dock": "7"}) == {"receive"}
    assert s.find(**{"EQ_SENSORREPORT_ion:probe": "inner"}) == {"sensor"}
    assert s.find(**{"EXISTS_SENSORMETADATA_ion:probe": ""}) == set()


def test_sensor_reports(seeded: Seeded) -> None:
    s = seeded
    tested = {"test1", "test2"}
    assert s.find(EQ_type="Temperature") == {"sensor"}
    assert s.find(EQ_type="https://gs1.org/voc/Resistance") == tested | {"sensor"}
    assert s.find(EXISTS_sensorElementList="true") == tested | {"sensor"}
    assert s.find(EQ_value_CEL="26") == {"sensor"}
    assert s.find(GE_value_OHM="0.002") == tested
    assert s.find(GE_value_P1="70", EQ_type="ion:StateOfHealth") == tested
    # Units convert: 80 FAH is 26.67 CEL, 26 CEL is 299.15 KEL.
    assert s.find(EQ_type="Temperature", GE_value_CEL="26.5") == {"sensor"}
    assert s.find(EQ_type="Temperature", GT_value_CEL="27") == set()
    assert s.find(EQ_type="Temperature", LT_value_KEL="299.2") == {"sensor"}
    # Every sensor condition holds for one and the same report (metadata inherited).
    assert s.find(EQ_type="Resistance", GE_value_CEL="0") == set()
    assert s.find(EQ_deviceID=GIAI_1, GT_value_FAH="79") == set()  # 26 CEL is 78.8 FAH
    assert s.find(EQ_deviceID=GIAI_2, GT_value_FAH="79") == {"sensor"}
    assert s.find(GE_time="2024-03-26T01:15:00Z") == {"sensor"}  # the report's own time
    assert s.find(GE_time="2024-03-26T01:15:00Z", EQ_deviceID=GIAI_1) == set()
    assert s.find(LT_time="2024-03-26T01:15:00Z", EQ_type="Voltage") == {"sensor"}
    assert s.find(GE_startTime="2024-03-26T00:00:00Z") == {"sensor"}
    assert s.find(LT_endTime="2024-03-26T00:30:00Z") == set()
    for name, value in (
        ("EQ_stringValue", "ok"),
        ("EQ_booleanValue", "true"),
        ("EQ_hexBinaryValue", "0A1B"),
        ("EQ_uriValue", "https://example.com/u"),
        ("GE_percRank", "90"),
        ("GE_percValue_VLT", "3.5"),
        ("EQ_dataProcessingMethod", "https://example.com/dpm/1"),
        ("EQ_bizRules", "https://example.com/rules/1"),
    ):
        assert s.find(**{name: value}) == {"sensor"}, name
    assert s.find(EQ_booleanValue="false") == set()


# -- order, pages, limits --------------------------------------------------------------------


def _order_key(e: StoredEvent, by: str) -> tuple[str, int]:
    return (e.event_time if by == "eventTime" else e.record_time), e.seq


def _all_pages(s: Seeded, params: dict[str, list[str]], per_page: int) -> list[StoredEvent]:
    query = parse_query(params)
    out: list[StoredEvent] = []
    cursor: str | None = None
    for _ in range(100):
        result = run_query(s.store, query, per_page=per_page, cursor=cursor)
        assert len(result.events) <= per_page
        out += result.events
        cursor = result.next_cursor
        if cursor is None:
            return out
    raise AssertionError("the pages never ended")


def test_order(seeded: Seeded) -> None:
    s = seeded
    days = [f"{n}1" for n in LIFECYCLE] + [f"{n}2" for n in LIFECYCLE]
    later = ["ship", "receive", "bulk", "sgtin_obs", "sgtin_link", "transform", "sensor", "txn"]
    chronological = [*days[:5], "err", *days[5:], *later]  # err: sell1's time, a later seq
    assert s.page({}) == chronological  # no orderBy: eventTime ascending
    assert s.page({"orderBy": "eventTime"}) == chronological[::-1]  # the standard's DESC
    assert s.page({"orderBy": "eventTime", "orderDirection": "ASC"}) == chronological
    by_record = s.page({"orderBy": "recordTime", "orderDirection": "ASC"})
    assert by_record[:14] == [f"{n}{i}" for i in (1, 2) for n in LIFECYCLE]  # import order
    assert s.page({"orderBy": "recordTime"}) == by_record[::-1]


@pytest.mark.parametrize("by", ["eventTime", "recordTime"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_pages_have_no_gaps_or_duplicates(seeded: Seeded, by: str, direction: str) -> None:
    for extra in ({}, {"EQ_action": ["OBSERVE"]}):  # SQL only; SQL and a post-filter
        params = {"orderBy": [by], "orderDirection": [direction], **extra}
        whole = run_query(seeded.store, parse_query(params), per_page=1000)
        assert whole.next_cursor is None
        keys = [_order_key(e, by) for e in whole.events]
        assert keys == sorted(keys, reverse=direction == "DESC")
        for per_page in (1, 4):
            paged = _all_pages(seeded, params, per_page)
            assert [e.seq for e in paged] == [e.seq for e in whole.events]


def test_cursor_is_stable_when_events_are_added(seeded: Seeded) -> None:
    s = seeded
    query = parse_query({"orderBy": ["eventTime"], "orderDirection": ["ASC"]})
    first = run_query(s.store, query, per_page=5)
    assert [s.label(e) for e in first.events] == ["c_mods1", "c_pack1", "agg1", "inst1", "sell1"]
    added = {
        "early": event(epcList=[urn(s.packs[0])], eventTime=day(2)),  # before the cursor
        "tie": event(epcList=[urn(s.packs[0])], eventTime=day(5)),  # its time, a later seq
        "late": event(epcList=[urn(s.packs[0])], eventTime=day(30)),
    }
    _import(s.store, list(added.values()))
    s.events |= added
    assert first.next_cursor is not None
    rest = run_query(s.store, query, per_page=1000, cursor=first.next_cursor)
    labels = [s.label(e) for e in rest.events]
    assert labels[:3] == ["err", "tie", "rem1"]
    assert labels[-2:] == ["txn", "late"]
    assert "early" not in labels
    assert not set(labels) & {s.label(e) for e in first.events}
    assert len(labels) == len(set(labels)) == len(s.events) - 5 - 1  # all but page 1 and early


def test_event_count_limit(seeded: Seeded) -> None:
    s = seeded
    params = {"orderBy": ["eventTime"], "orderDirection": ["ASC"], "eventCountLimit": ["5"]}
    paged = _all_pages(s, params, per_page=2)
    assert [s.label(e) for e in paged] == ["c_mods1", "c_pack1", "agg1", "inst1", "sell1"]
    latest = {"orderBy": "eventTime", "eventCountLimit": "1", "EQ_action": "OBSERVE"}
    assert s.page(latest) == ["sensor"]  # txn is an ADD: the latest OBSERVE is the sensor event


def test_max_event_count(seeded: Seeded) -> None:
    s = seeded
    assert len(s.page({"EQ_action": "ADD", "maxEventCount": "10"})) == 10
    with pytest.raises(QueryTooLarge) as too_large:
        s.page({"EQ_action": "ADD", "maxEventCount": "9"})  # counted through the post-filter
    assert too_large.value.status == 413
    assert too_large.value.code == "query-too-large"
    assert too_large.value.message == "the query matches more than maxEventCount=9 events"
    with pytest.raises(QueryTooLarge):
        s.page({"eventType": "AggregationEvent", "maxEventCount": "1"})  # counted in SQL
    # Checked on the first page: a query within the limit pages normally.
    assert len(_all_pages(s, {"EQ_action": ["ADD"], "maxEventCount": ["10"]}, 3)) == 10


def test_scan_budget_gives_short_pages_that_resume(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query_module, "SCAN_BUDGET", 3)
    query = parse_query({"EQ_action": ["DELETE"]})
    first = run_query(seeded.store, query, per_page=10)
    assert first.events == []  # the first three candidates do not match
    assert first.next_cursor is not None
    found = _all_pages(seeded, {"EQ_action": ["DELETE"]}, per_page=10)
    assert [seeded.label(e) for e in found] == ["rem1", "rem2"]


# -- the vocabulary lists --------------------------------------------------------------------


def _values(store: EventStore, kind: str, per_page: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        values, cursor = epcis_values(store, kind, per_page=per_page, cursor=cursor)
        pages.append(values)
        if cursor is None:
            return pages


def test_epcis_values(seeded: Seeded) -> None:
    store = seeded.store
    assert _values(store, "eventTypes", 2) == [
        ["AggregationEvent", "AssociationEvent"],
        ["ObjectEvent", "TransactionEvent"],
        ["TransformationEvent"],
    ]
    steps = ["assembling", "commissioning", "inspecting", "installing", "ion:repurposing",
             "receiving", "removing", "retail_selling", "shipping", "storing"]  # fmt: skip
    assert [v for page in _values(store, "bizSteps", 3) for v in page] == steps
    assert _values(store, "readPoints", 1) == [[SGLN_A], [SGLN_C]]
    assert _values(store, "bizLocations", 5) == [[SGLN_B]]
    dispositions = ["active", "in_progress", "in_transit", "ion:retired", "retail_sold"]
    assert _values(store, "dispositions", 4) == [dispositions[:4], dispositions[4:]]
    epcs = [v for page in _values(store, "epcs", 5) for v in page]
    assert epcs == _values(store, "epcs", 1000)[0]
    assert len(epcs) == len(set(epcs)) == 10  # 2 packs, 4 modules, a VIN, 2 SGTINs, a GRAI
    # GB/T codes are shown as their URNs, GS1 keys as Digital Links.
    assert {urn(seeded.packs[0]), vin(), canonical_id(SGTIN_2017), canonical_id(GRAI_400)} <= set(
        epcs
    )
    cursor = epcis_values(store, "eventTypes", per_page=1, cursor=None)[1]
    with pytest.raises(
        QueryError, match=r"^nextPageToken: is a token for eventTypes, not bizSteps$"
    ):
        epcis_values(store, "bizSteps", per_page=1, cursor=cursor)


# -- errors ----------------------------------------------------------------------------------

BAD_QUERIES = [
    ({"EQ_bizstep": "x"}, "EQ_bizstep: unknown query parameter (did you mean EQ_bizStep?)"),
    ({"colour": "red"}, "colour: unknown query parameter"),
    ({"GE_eventTime": "yesterday"},
     "GE_eventTime: 'yesterday' is not a date-time with a UTC offset"),
    ({"LT_recordTime": "2024-03-01T10:00:00"},
     "LT_recordTime: '2024-03-01T10:00:00' is not a date-time with a UTC offset"),
    ({"GE_eventTime": ["2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"]},
     "GE_eventTime: given 2 times; give it once"),
    ({"GT_quantity": "many"}, "GT_quantity: 'many' is not a number"),
    ({"GE_value_CEL": "inf"}, "GE_value_CEL: 'inf' is not a finite number"),
    ({"eventCountLimit": "ten", "orderBy": "eventTime"},
     "eventCountLimit: 'ten' is not an integer"),
    ({"eventCountLimit": "0", "orderBy": "eventTime"},
     "eventCountLimit: must be at least 1, got 0"),
    ({"maxEventCount": "-1"}, "maxEventCount: must be at least 0, got -1"),
    ({"eventCountLimit": "5"},
     "eventCountLimit: requires orderBy (it keeps the first N in that order)"),
    ({"eventCountLimit": "5", "maxEventCount": "5", "orderBy": "eventTime"},
     "eventCountLimit: cannot be combined with maxEventCount"),
    ({"orderBy": "bizStep"}, "orderBy: 'bizStep' is not eventTime or recordTime"),
    ({"orderBy": "ion:declaredAt"},
     "orderBy: ordering by the extension field 'ion:declaredAt' is not supported: only eventTime"
     " and recordTime (which are indexed)"),
    ({"orderDirection": "UP"}, "orderDirection: 'UP' is not ASC or DESC"),
    ({"EQ_action": "OBSERVE|MOVE"}, "EQ_action: 'MOVE' is not one of ADD, OBSERVE, DELETE"),
    ({"EQ_bizStep": " , "}, "EQ_bizStep: needs a value"),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.2017"},
     "MATCH_epc: 'urn:epc:idpat:sgtin:0614141.*.2017': after a '*' every field must be '*'"),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.12.*"},
     "MATCH_epc: 'urn:epc:idpat:sgtin:0614141.12.*': company prefix and item reference must"
     " be 13 digits together"),
    ({"MATCH_anyEPC": "urn:epc:idpat:grai:0614141.*"},
     "MATCH_anyEPC: 'urn:epc:idpat:grai:0614141.*': an grai pattern has 3 fields, got 2"),
    ({"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.*"},
     "MATCH_epc: 'urn:epc:id:sgtin:0614141.107346.*': a '*' pattern is an EPC pattern"
     " (urn:epc:idpat:...) or the start of a GB/T 34014 code or VIN URN followed by '*'"),
    ({"GE_ion:declaredAt": "soon"},
     "GE_ion:declaredAt: 'soon' is neither a number nor a date-time with a UTC offset"),
    ({"EXISTS_errorDeclaration": "maybe"}, "EXISTS_errorDeclaration: 'maybe' is not true or false"),
    ({"EQ_booleanValue": "yes"}, "EQ_booleanValue: 'yes' is not true or false"),
    ({"HASATTR_ion:site": "x"},
     "HASATTR_ion:site: needs master data (vocabulary attributes), which this repository does"
     " not keep"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "message"), BAD_QUERIES)
def test_bad_parameters_are_named(params: dict[str, str | list[str]], message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(_params(params))
    assert caught.value.message == message
    assert (caught.value.code, caught.value.status) == ("query-parameter", 400)
    assert caught.value.details()["parameter"] == message.split(": ")[0]


def test_malformed_identifiers_and_api_parameters() -> None:
    with pytest.raises(QueryError, match=r"^MATCH_epc: 'urn:ionledger:gbt34014:03HP' is not a "
                       r"valid identifier: invalid GB/T 34014 code"):  # fmt: skip
        parse_query({"MATCH_epc": ["urn:ionledger:gbt34014:03HP"]})
    # The API layer's pagination parameters are accepted (and left to it).
    parse_query({"perPage": ["10"], "nextPageToken": ["x"], "eventType": ["ObjectEvent"]})


def test_bad_page_tokens(seeded: Seeded) -> None:
    query = parse_query({"eventType": ["ObjectEvent"]})
    with pytest.raises(
        QueryError, match=r"^nextPageToken: is not a page token this server issued$"
    ):
        run_query(seeded.store, query, per_page=2, cursor="not-a-token!")
    token = run_query(seeded.store, query, per_page=2).next_cursor
    assert token is not None
    other = parse_query({"eventType": ["AggregationEvent"]})
    with pytest.raises(QueryError, match=r"^nextPageToken: belongs to another query"):
        run_query(seeded.store, other, per_page=2, cursor=token)
    with pytest.raises(QueryError, match=r"^perPage: must be at least 1, got 0$"):
        run_query(seeded.store, query, per_page=0)


# -- plans: index range scans at scale -------------------------------------------------------

BIG = 20_000


def _fill(store: EventStore) -> list[str]:
    """BIG events, one a second, each naming one of BIG / 10 SGTINs (of 100 GTINs)."""
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    urns = [f"urn:epc:id:sgtin:0614141.1{i % 100:05d}.{i}" for i in range(BIG // 10)]
    links = [canonical_id(u) for u in urns]
    prepared, delta = [], ProjectionDelta()
    for i in range(BIG):
        when = (start + datetime.timedelta(seconds=i)).isoformat(timespec="microseconds")
        doc = {"type": "ObjectEvent", "eventID": f"urn:uuid:big-{i}", "action": "OBSERVE",
               "eventTime": when, "epcList": [urns[i % len(urns)]]}  # fmt: skip
        prepared.append(PreparedEvent(f"urn:uuid:big-{i}", None, "ObjectEvent",
                                      when[:-6] + "Z", "maker", "storing",
                                      msgspec.json.encode(doc)))  # fmt: skip
        delta.links.append((links[i % len(links)], i))
    with store.writer() as writer:
        writer.append(prepared, "2024-06-01T00:00:00.000000Z")
        writer.apply(delta)
        writer.commit()
    return urns


def _plan(store: SqlStore, params: dict[str, list[str]]) -> str:
    sql, args = store.select_events_sql(parse_query(params).selection, 100)
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(args)).fetchall()
            return "\n".join(str(r[-1]) for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN " + sql, tuple(args)).fetchall()
        return "\n".join(str(r[0]) for r in rows)


def test_match_and_time_windows_use_indexes(store: EventStore) -> None:
    assert isinstance(store, SqlStore)
    urns = _fill(store)
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE events")
            conn.exec_driver_sql("ANALYZE event_batteries")
            conn.commit()
    queries = {
        "one EPC": {"MATCH_epc": [urns[7]]},
        "a GTIN": {"MATCH_epc": ["urn:epc:idpat:sgtin:0614141.100041.*"], "orderBy": ["eventTime"]},
        "event time window": {"GE_eventTime": ["2024-01-01T01:00:00Z"],
                              "LT_eventTime": ["2024-01-01T01:10:00Z"]},
        "record time, newest first": {"GE_recordTime": ["2024-05-01T00:00:00Z"],
                                      "orderBy": ["recordTime"]},
        "bizStep in time order": {"EQ_bizStep": ["storing"], "orderBy": ["eventTime"]},
    }  # fmt: skip
    for name, params in queries.items():
        plan = _plan(store, params)
        assert "Seq Scan" not in plan, (name, plan)  # PostgreSQL
        assert not any(line.startswith("SCAN ") for line in plan.splitlines()), (name, plan)
    one = run_query(store, parse_query(queries["one EPC"]), per_page=100)
    assert [e.seq for e in one.events] == list(range(7, BIG, BIG // 10))
    window = run_query(store, parse_query(queries["event time window"]), per_page=1000)
    assert [e.seq for e in window.events] == list(range(3600, 4200))
    gtin = run_query(store, parse_query(queries["a GTIN"]), per_page=3)
    assert [e.seq for e in gtin.events] == [BIG - 59, BIG - 159, BIG - 259]
    # Under a linguistic collation prefixes are compared in "C" order: the same rows.
    sql, args = selection_sql(parse_query(queries["a GTIN"]).selection, 3, bytewise=False)
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql(store.paramstyle(sql), tuple(args)).fetchall()
        assert [r.seq for r in rows] == [BIG - 59, BIG - 159, BIG - 259]
