"""WCAG 2.x contrast of brand colours: a brand whose text would be unreadable is refused.

The ratio is (L1 + 0.05) / (L2 + 0.05) of the two relative luminances (WCAG 2.2, 1.4.3);
AA asks 4.5:1 for normal text. Colours are `#rrggbb`.
"""

from __future__ import annotations

import re

AA_NORMAL = 4.5
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def luminance(color: str) -> float:
    """Relative luminance of `#rrggbb` (sRGB, WCAG's formula)."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(a: str, b: str) -> float:
    """Contrast ratio of two colours, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def failures(pairs: dict[str, tuple[str, str]]) -> list[str]:
    """A reason per (foreground, background) pair below AA, named by its key."""
    out = []
    for name, (fg, bg) in pairs.items():
        value = ratio(fg, bg)
        if value < AA_NORMAL:
            out.append(f"{name}: {fg} on {bg} has contrast {value:.2f}:1, WCAG AA needs {AA_NORMAL}:1")
    return out
