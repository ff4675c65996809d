"""Energy and CO2 per answer: real ecologits figures for Mistral, measured time for local models."""

from __future__ import annotations

import pytest

from relais.settings import get_settings
from server.footprint import FALLBACK_KG_CO2_PER_KWH, Footprint, carbon_intensity, ecologits_version, estimate


def test_mistral_figures_come_from_ecologits_and_grow_with_tokens():
    small = estimate("mistral", "mistral-large-latest", 100, 10.0)
    large = estimate("mistral", "mistral-large-latest", 1000, 10.0)
    assert small.method == large.method == "ecologits"
    assert small.ecologits_version == ecologits_version() == "0.11.3"
    assert 0 < small.energy_kwh < large.energy_kwh
    assert 0 < small.co2_kg < large.co2_kg
    # Order of magnitude of ecologits 0.11.3 for mistral-large: about 1.3 Wh for 500 tokens.
    assert 1e-4 < estimate("mistral", "mistral-large-latest", 500, 5.0).energy_kwh < 1e-2


def test_bigger_models_cost_more_and_names_are_accepted_both_ways():
    small = estimate("mistral", "mistral-small-latest", 500, 5.0)
    large = estimate("mistralai", "mistral-large-latest", 500, 5.0)
    assert 0 < small.energy_kwh < large.energy_kwh


def test_a_range_is_reported_as_its_middle():
    medium = estimate("mistral", "mistral-medium-latest", 500, 5.0)
    assert medium.method == "ecologits" and medium.energy_kwh > 0


def test_remote_zone_defaults_to_the_provider_datacenter_and_can_be_set(monkeypatch):
    assert estimate("mistral", "mistral-small-latest", 300, 3.0).zone == "SWE"
    monkeypatch.setenv("RELAIS_FOOTPRINT_REMOTE_ZONE", "FRA")
    get_settings.cache_clear()
    in_france = estimate("mistral", "mistral-small-latest", 300, 3.0)
    assert in_france.zone == "FRA" and in_france.co2_kg > 0


def test_local_estimate_is_time_times_power_times_intensity(monkeypatch):
    monkeypatch.setenv("RELAIS_LOCAL_POWER_WATTS", "36")
    get_settings.cache_clear()
    footprint = estimate("embedded", "qwen2.5-coder-1.5b", 250, 100.0)
    intensity, version = carbon_intensity("FRA")
    assert footprint.method == "local-estimate" and footprint.zone == "FRA"
    assert footprint.energy_kwh == pytest.approx(36 * 100 / 3_600_000)  # 0.001 kWh
    assert footprint.co2_kg == pytest.approx(0.001 * intensity)
    assert intensity == pytest.approx(0.04144) and version == "0.11.3"


def test_local_estimate_default_power_and_unknown_zone(monkeypatch):
    assert estimate("local", "qwen2.5:7b-instruct", 10, 3600.0).energy_kwh == pytest.approx(0.030)
    monkeypatch.setenv("RELAIS_FOOTPRINT_LOCAL_ZONE", "XXX")
    get_settings.cache_clear()
    footprint = estimate("local", "qwen2.5:7b-instruct", 10, 3600.0)
    assert footprint.co2_kg == pytest.approx(0.030 * FALLBACK_KG_CO2_PER_KWH)
    assert footprint.ecologits_version is None


def test_unknown_models_and_providers_do_not_fail_the_request():
    assert estimate("mistral", "no-such-model", 100, 1.0) == Footprint(0.0, 0.0, "unavailable", "0.11.3", "SWE")
    assert estimate("fake", "scripted", 100, 1.0).method == "unavailable"


def test_bad_numbers_are_refused():
    with pytest.raises(ValueError):
        estimate("mistral", "mistral-small-latest", -1, 1.0)
    with pytest.raises(ValueError):
        estimate("local", "x", 1, -0.5)


def test_usage_fields():
    usage = estimate("embedded", "qwen", 10, 2.0).as_usage()
    assert set(usage) == {"energy_kwh", "co2_kg", "method", "ecologits_version", "zone"}
