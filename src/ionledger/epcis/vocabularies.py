"""The vocabularies of GS1's EPCIS 2.0 JSON schema: CBV terms per field, actions, event types.

A CBV field (bizStep, disposition, ...) holds a bare CBV 2.0 term or a URI outside the namespaces
the schema reserves (``anyOf`` [term, "vocab-other-uri"]); measurement and alert types reserve
the GS1 Web Vocabulary instead ("vocab-nonGS1WebVoc-uri"). Strict validation checks against
these tables, the lenient reader maps CBV 1.x URNs onto them, the XML mapping and the hash ID
expand their terms: one list of terms per vocabulary, here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ACTIONS",
    "BIZ_STEP",
    "BIZ_TRANSACTION_TYPE",
    "COMPONENT",
    "DISPOSITION",
    "DOCUMENT_TYPES",
    "ERROR_REASON",
    "EVENT_TYPES",
    "MEASUREMENT_TYPE",
    "RESERVED_NAMESPACES",
    "SENSOR_ALERT_TYPE",
    "SOURCE_DEST_TYPE",
    "Vocabulary",
]

# "vocab-other-uri": a URI, but not one of the CBV's own namespaces.
_CBV_NAMESPACES: Final = re.compile(r"urn:epcglobal:cbv|https?://ns\.gs1\.org/cbv/")
# "vocab-nonGS1WebVoc-uri": a URI, but not one of the GS1 Web Vocabulary's.
_GS1_WEB_VOC: Final = re.compile(r"https?://gs1\.org/voc/|https?://www\.gs1\.org/voc/")
# What each reserved pattern refuses, in words (for messages).
RESERVED_NAMESPACES: Final = {
    _CBV_NAMESPACES: "the CBV's own namespaces (urn:epcglobal:cbv..., https://ns.gs1.org/cbv/...)",
    _GS1_WEB_VOC: "the GS1 Web Vocabulary (https://gs1.org/voc/...)",
}


def _terms(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A CBV-style field: one of ``terms``, or a URI that ``reserved`` does not match."""

    name: str  # the schema's definition name
    terms: frozenset[str]
    reserved: re.Pattern[str]  # URIs refused in place of a term
    cbv1_urn: str | None = None  # CBV 1.x URN prefix whose suffixes are the terms


BIZ_STEP: Final = Vocabulary(
    "bizStep",
    _terms(
        "accepting arriving assembling collecting commissioning consigning"
        " creating_class_instance cycle_counting decommissioning departing destroying"
        " disassembling dispensing encoding entering_exiting holding inspecting installing"
        " killing loading other packing picking receiving removing repackaging repairing"
        " replacing reserving retail_selling shipping staging_outbound stock_taking stocking"
        " storing transporting unloading unpacking void_shipping sensor_reporting sampling"
    ),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:bizstep:",
)
DISPOSITION: Final = Vocabulary(
    "disposition",
    _terms(
        "active container_closed damaged destroyed dispensed disposed encoded expired"
        " in_progress in_transit inactive no_pedigree_match non_sellable_other"
        " partially_dispensed recalled reserved retail_sold returned sellable_accessible"
        " sellable_not_accessible stolen unknown available completeness_verified"
        " completeness_inferred conformant container_open mismatch_instance mismatch_class"
        " mismatch_quantity needs_replacement non_conformant unavailable"
    ),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:disp:",
)
BIZ_TRANSACTION_TYPE: Final = Vocabulary(
    "bizTransaction-type",
    _terms("bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt"),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:btt:",
)
SOURCE_DEST_TYPE: Final = Vocabulary(
    "source-dest-type",
    frozenset({"owning_party", "possessing_party", "location"}),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:sdt:",
)
ERROR_REASON: Final = Vocabulary(
    "error-reason",
    frozenset({"did_not_occur", "incorrect_data"}),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:er:",
)
COMPONENT: Final = Vocabulary(  # new in CBV 2.0: no 1.x URN form
    "component",
    _terms(
        "x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle"
        " easting northing latitude longitude altitude"
    ),
    _CBV_NAMESPACES,
)
MEASUREMENT_TYPE: Final = Vocabulary(
    "measurementType",
    _terms(
        "AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude"
        " AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration"
        " AngularMomentum AngularVelocity Area Capacitance Conductance Conductivity Count"
        " Density Dimensionless DoseEquivalent DoseEquivalentRate DynamicViscosity"
        " ElectricCharge ElectricCurrent ElectricCurrentDensity ElectricFieldStrength Energy"
        " Exposure Force Frequency Illuminance Inductance Irradiance KinematicViscosity Length"
        " LinearMomentum Luminance LuminousFlux LuminousIntensity MagneticFlux"
        " MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate"
        " MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume"
        " Power Pressure RadiantFlux RadiantIntensity RelativeHumidity Resistance Resistivity"
        " SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque"
        " Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber"
    ),
    _GS1_WEB_VOC,
)
SENSOR_ALERT_TYPE: Final = Vocabulary(
    "sensorAlertType", frozenset({"ALARM_CONDITION", "ERROR_CONDITION"}), _GS1_WEB_VOC
)

ACTIONS: Final = ("OBSERVE", "ADD", "DELETE")  # "action"
EVENT_TYPES: Final = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
DOCUMENT_TYPES: Final = ("EPCISDocument", "EPCISQueryDocument")
