"""The battery lifecycle vocabulary: which EPCIS event expresses each stage of a battery's life.

CBV 2.0 terms are used wherever CBV has one; where it has none the project's own vocabulary is
used, written as CURIEs with the ``ion:`` prefix (namespace :data:`ION_NAMESPACE`, documented term
by term in ``docs/vocabulary.md``). ``docs/lifecycle.md`` shows one valid example event per stage.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

ION_PREFIX = "ion"
ION_NAMESPACE = "https://ionledger.org/voc/"
CBV_BIZSTEP_PREFIX = "https://ref.gs1.org/cbv/BizStep-"
CBV_DISPOSITION_PREFIX = "https://ref.gs1.org/cbv/Disp-"

# URI forms of identifiers that GS1 has no key for (see docs/identifiers.md).
GBT_URN_PREFIX = "urn:ionledger:gbt34014:"
VIN_URN_PREFIX = "urn:ionledger:vin:"
MATERIAL_URN_PREFIX = "urn:ionledger:material:"

# Extension fields (event level) and ILMD fields the project defines.
FIELD_REPORTED_BY = "ion:reportedBy"  # the reporting enterprise (registry ID)
FIELD_PROVINCE = "ion:province"  # ISO 3166-2:CN code of the site where the event happened
# When the reporter declared the event (may be later than eventTime): what reporting deadlines
# are measured against.
FIELD_DECLARED_AT = "ion:declaredAt"
ILMD_CHEMISTRY = "ion:chemistry"
ILMD_CATEGORY = "ion:category"
ILMD_RATED_ENERGY_KWH = "ion:ratedEnergyKWh"
ILMD_CAPACITY_AH = "ion:capacityAh"
ILMD_MASS_KG = "ion:massKg"
ILMD_ORIGINAL_CODE = "ion:originalCode"  # on a repurposed battery: the code it had before

# Sensor measurement types for battery tests. CBV has ElectricCharge and Resistance; it has no
# state of health, so that one is ours.
MEASURE_SOH = "ion:StateOfHealth"  # percent of rated capacity, uom P1
MEASURE_CAPACITY = "ElectricCharge"  # remaining capacity, uom AMH (ampere hour)
MEASURE_RESISTANCE = "Resistance"  # internal resistance, uom OHM

# Project business steps and dispositions (CBV has no word for these).
BIZSTEP_REPURPOSING = "ion:repurposing"
BIZSTEP_RECYCLING = "ion:recycling"
DISP_RETIRED = "ion:retired"  # out of traction use, waiting for second life or recycling
DISP_RECYCLED = "ion:recycled"


class Stage(enum.StrEnum):
    """Stages of DOMAIN.md's lifecycle, in rough life order."""

    COMMISSIONING = "commissioning"
    AGGREGATION = "aggregation"
    INSTALLATION = "installation"
    SALE = "sale"
    REPAIR = "repair"
    REPLACEMENT = "replacement"
    RETIREMENT = "retirement"
    COLLECTION = "collection"
    SHIPPING = "shipping"
    RECEIVING = "receiving"
    TESTING = "testing"
    REPURPOSING = "repurposing"
    DISMANTLING = "dismantling"
    RECYCLING = "recycling"
    DESTRUCTION = "destruction"


class State(enum.StrEnum):
    """A battery's lifecycle state, as the battery projection records it."""

    PRODUCED = "produced"
    ASSEMBLED = "assembled"
    INSTALLED = "installed"
    IN_SERVICE = "in_service"
    RETIRED = "retired"
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    TESTED = "tested"
    REPURPOSED = "repurposed"
    DISMANTLED = "dismantled"
    RECYCLED = "recycled"
    DESTROYED = "destroyed"


@dataclass(frozen=True, slots=True)
class StageSpec:
    stage: Stage
    event_type: str
    action: str | None  # None for TransformationEvent, which has no action
    biz_step: str
    disposition: str | None
    state_after: State | None  # None: the stage does not change the battery's state
    note: str


STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        Stage.COMMISSIONING,
        "ObjectEvent",
        "ADD",
        "commissioning",
        "active",
        State.PRODUCED,
        "cell, module or pack coded; attributes in ILMD",
    ),
    StageSpec(
        Stage.AGGREGATION,
        "AggregationEvent",
        "ADD",
        "assembling",
        "active",
        State.ASSEMBLED,
        "cells into a module, modules into a pack (parentID = container)",
    ),
    StageSpec(
        Stage.INSTALLATION,
        "AssociationEvent",
        "ADD",
        "installing",
        "active",
        State.INSTALLED,
        "pack into a vehicle: parentID = vehicle VIN URN",
    ),
    StageSpec(
        Stage.SALE,
        "ObjectEvent",
        "OBSERVE",
        "retail_selling",
        "retail_sold",
        State.IN_SERVICE,
        "vehicle with its pack sold to an owner",
    ),
    StageSpec(
        Stage.REPAIR,
        "ObjectEvent",
        "OBSERVE",
        "repairing",
        "active",
        None,
        "pack repaired in place",
    ),
    StageSpec(
        Stage.REPLACEMENT,
        "AssociationEvent",
        "DELETE",
        "replacing",
        "needs_replacement",
        State.RETIRED,
        "pack taken out of a vehicle (or module out of a pack) and replaced",
    ),
    StageSpec(
        Stage.RETIREMENT,
        "AssociationEvent",
        "DELETE",
        "removing",
        DISP_RETIRED,
        State.RETIRED,
        "pack removed from a scrapped vehicle",
    ),
    StageSpec(
        Stage.COLLECTION,
        "ObjectEvent",
        "OBSERVE",
        "collecting",
        DISP_RETIRED,
        State.COLLECTED,
        "waste battery taken in at a 4S store or collection outlet",
    ),
    StageSpec(
        Stage.SHIPPING,
        "ObjectEvent",
        "OBSERVE",
        "shipping",
        "in_transit",
        State.IN_TRANSIT,
        "custody transfer opened: destinationList names the receiver",
    ),
    StageSpec(
        Stage.RECEIVING,
        "ObjectEvent",
        "OBSERVE",
        "receiving",
        "in_progress",
        State.RECEIVED,
        "custody transfer closed: the reporter becomes custodian",
    ),
    StageSpec(
        Stage.TESTING,
        "ObjectEvent",
        "OBSERVE",
        "inspecting",
        "in_progress",
        State.TESTED,
        "SOH, remaining capacity, internal resistance as sensor reports",
    ),
    StageSpec(
        Stage.REPURPOSING,
        "TransformationEvent",
        None,
        BIZSTEP_REPURPOSING,
        "active",
        State.REPURPOSED,
        "second life: output gets a new code; ILMD links the original",
    ),
    StageSpec(
        Stage.DISMANTLING,
        "AggregationEvent",
        "DELETE",
        "disassembling",
        DISP_RETIRED,
        State.DISMANTLED,
        "pack into modules, modules into cells",
    ),
    StageSpec(
        Stage.RECYCLING,
        "TransformationEvent",
        None,
        BIZSTEP_RECYCLING,
        DISP_RECYCLED,
        State.RECYCLED,
        "batteries in, recovered materials out (outputQuantityList, KGM)",
    ),
    StageSpec(
        Stage.DESTRUCTION,
        "ObjectEvent",
        "OBSERVE",
        "destroying",
        "destroyed",
        State.DESTROYED,
        "destroyed without material recovery",
    ),
)

STAGE_BY_NAME: dict[Stage, StageSpec] = {spec.stage: spec for spec in STAGES}


def _bare(term: str | None, prefix: str) -> str | None:
    """CBV terms may arrive bare, as a GS1 web URI or as a 1.x URN; compare them bare."""
    if term is None:
        return None
    if term.startswith(prefix):
        return term[len(prefix) :]
    if term.startswith("urn:epcglobal:cbv:"):
        return term.rsplit(":", 1)[1]
    if term.startswith(ION_NAMESPACE):
        return ION_PREFIX + ":" + term[len(ION_NAMESPACE) :]
    return term


def bare_biz_step(term: str | None) -> str | None:
    return _bare(term, CBV_BIZSTEP_PREFIX)


def bare_disposition(term: str | None) -> str | None:
    return _bare(term, CBV_DISPOSITION_PREFIX)


_STAGE_BY_STEP_ACTION: dict[tuple[str, str | None], Stage] = {
    (spec.biz_step, spec.action): spec.stage for spec in STAGES
}


def stage_of(biz_step: str | None, action: str | None) -> Stage | None:
    """The lifecycle stage an event expresses: its bizStep with its action, as in STAGES.

    A bizStep with another action than the table's (``installing`` with DELETE) is no stage.
    TransformationEvents have no action: they match the rows whose action is None.
    """
    step = bare_biz_step(biz_step)
    if step is None:
        return None
    return _STAGE_BY_STEP_ACTION.get((step, action))
