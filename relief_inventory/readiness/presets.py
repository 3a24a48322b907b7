"""Named scenarios the bureau exercises. Pure data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    county: str
    relocated: int
    days: int
    hazard: str  # a dispatch disaster type


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("shuangbai-m6", "双柏县6.0级地震", "532322", 20_000, 3, "earthquake"),
        Preset("yuanmou-flood", "元谋县洪涝（金沙江沿岸山洪）", "532328", 6_000, 5, "flood"),
    )
}
# "worst-2024" is read from the verified 2024 disaster reports (the most people relocated).
WORST_2024 = "worst-2024"
NAMES = (*PRESETS, WORST_2024)
