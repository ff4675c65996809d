"""Energy (kWh) and CO2 (kg CO2-eq) of one answer.

Remote Mistral models: ecologits (offline, bundled data), which models the provider's GPUs from the
model size and counts OUTPUT tokens only (the prompt is ignored), in the provider's datacenter
electricity mix unless `RELAIS_FOOTPRINT_REMOTE_ZONE` names another zone. Its version is recorded.

Local models (OpenAI-compatible server or embedded GGUF): ecologits has no entry for them, so the
estimate is measured generation time × the machine's power draw (`RELAIS_LOCAL_POWER_WATTS`,
30 W by default: an assumption for a busy 2-core CPU box, cores plus memory and board; measure
your machine with a wattmeter and set it) × the carbon intensity of the site's electricity
(`RELAIS_FOOTPRINT_LOCAL_ZONE`, "FRA" by default), read from ecologits' bundled electricity mixes,
else `FALLBACK_KG_CO2_PER_KWH`. It counts the whole machine's draw during the call, prompt included.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Literal

from relais.settings import get_settings

logger = logging.getLogger(__name__)

FootprintMethod = Literal["ecologits", "local-estimate", "unavailable"]

# Relais provider names (and ecologits' own) -> ecologits provider names.
ECOLOGITS_PROVIDERS = {"mistral": "mistralai", "mistralai": "mistralai"}
LOCAL_PROVIDERS = frozenset({"local", "embedded"})
# Used only if ecologits' mix data cannot be read: French grid, order of magnitude of the ADEME
# life-cycle figure for the average mix (ecologits 0.11.3 gives 0.04144 for "FRA").
FALLBACK_KG_CO2_PER_KWH = 0.05
JOULES_PER_KWH = 3_600_000


@dataclass(frozen=True)
class Footprint:
    """The energy and emissions of one answer, and how they were obtained."""

    energy_kwh: float
    co2_kg: float
    method: FootprintMethod
    ecologits_version: str | None = None
    zone: str | None = None  # electricity mix zone (ISO 3166-1 alpha-3, "WOR" for the world)

    def as_usage(self) -> dict:
        """The fields added to an API `usage` object and to the audit record."""
        return asdict(self)


def estimate(provider: str, model: str, output_tokens: int, latency_s: float) -> Footprint:
    """Energy and CO2 of one model call.

    Args:
        provider: the catalog provider ("mistral", "local", "embedded"; "mistralai" is accepted).
        model: the model name at that provider (e.g. "mistral-large-latest").
        output_tokens: tokens generated (ecologits ignores the prompt).
        latency_s: measured duration of the call, in seconds.

    Returns:
        The footprint; method "unavailable" (zeros) for a provider or model with no data, which
        is logged, so that an unknown model never makes a request fail.

    Raises:
        ValueError: negative tokens or latency.
    """
    if output_tokens < 0 or latency_s < 0:
        raise ValueError(f"output_tokens ({output_tokens}) and latency_s ({latency_s}) must be >= 0")
    if provider in ECOLOGITS_PROVIDERS:
        return _ecologits_footprint(ECOLOGITS_PROVIDERS[provider], model, output_tokens, latency_s)
    if provider in LOCAL_PROVIDERS:
        return _local_footprint(latency_s)
    logger.warning("no footprint data for provider %r (model %r)", provider, model)
    return Footprint(0.0, 0.0, "unavailable")


def _ecologits_footprint(provider: str, model: str, output_tokens: int, latency_s: float) -> Footprint:
    from ecologits.tracers.utils import PROVIDER_CONFIG_MAP, llm_impacts

    version = ecologits_version()
    zone = get_settings().footprint_remote_zone or PROVIDER_CONFIG_MAP[provider].datacenter_location or "WOR"
    impacts = llm_impacts(provider, model, output_tokens, latency_s, zone)
    if impacts.errors or impacts.energy is None or impacts.gwp is None:
        reasons = "; ".join(error.message for error in impacts.errors or []) or "no impacts returned"
        logger.warning("ecologits %s has no footprint for %s:%s: %s", version, provider, model, reasons)
        return Footprint(0.0, 0.0, "unavailable", version, zone)
    return Footprint(_midpoint(impacts.energy.value), _midpoint(impacts.gwp.value), "ecologits", version, zone)


def _midpoint(value) -> float:
    """Middle of the range ecologits gives when a model's architecture is unpublished: report its middle."""
    if hasattr(value, "min") and hasattr(value, "max"):
        return (float(value.min) + float(value.max)) / 2
    return float(value)


def _local_footprint(latency_s: float) -> Footprint:
    settings = get_settings()
    zone = settings.footprint_local_zone
    intensity, version = carbon_intensity(zone)
    energy_kwh = settings.local_power_watts * latency_s / JOULES_PER_KWH
    return Footprint(energy_kwh, energy_kwh * intensity, "local-estimate", version, zone)


@lru_cache(maxsize=16)
def carbon_intensity(zone: str) -> tuple[float, str | None]:
    """Carbon intensity (kg CO2-eq per kWh) of a zone's electricity, and the ecologits version it comes from.

    Args:
        zone: ISO 3166-1 alpha-3 code ("FRA") or "WOR".

    Returns:
        (intensity, ecologits version), or (FALLBACK_KG_CO2_PER_KWH, None) when ecologits has no
        data for the zone.
    """
    try:
        from ecologits.electricity_mix_repository import electricity_mixes
    except ImportError:
        logger.warning("ecologits is not installed: using %s kg CO2/kWh", FALLBACK_KG_CO2_PER_KWH)
        return FALLBACK_KG_CO2_PER_KWH, None
    mix = electricity_mixes.find_electricity_mix(zone=zone)
    if mix is None:
        logger.warning("ecologits has no electricity mix for %r: using %s kg CO2/kWh", zone, FALLBACK_KG_CO2_PER_KWH)
        return FALLBACK_KG_CO2_PER_KWH, None
    return float(mix.gwp), ecologits_version()


@lru_cache(maxsize=1)
def ecologits_version() -> str:
    """The installed ecologits version (recorded with every ecologits figure)."""
    from importlib.metadata import version

    return version("ecologits")
