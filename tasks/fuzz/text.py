"""Realistic text for string inputs, chosen by the input's name and fitted to its limits.

Why: a model should be judged on what its users send. A prompt input gets prompts, a
question input questions, a negative prompt a list of things to avoid; every string fits
the input's maxLength, minLength and pattern, so repair never has to cut one mid-word.
"""

from __future__ import annotations

import random
import re
from typing import Any

from tasks.fuzz.pattern_text import pattern_example
from tasks.fuzz.schema_view import name_tokens

LONG_TEXT_CHARS = 1000  # "long" strings when the schema sets no maxLength

PROMPTS = (
    "A photo of a red fox sitting in a snowy forest at sunrise",
    "An astronaut riding a horse on the moon, digital art",
    "a bowl of ramen on a wooden table, studio lighting, 35mm",
    "Watercolor painting of a lighthouse on a cliff during a storm",
    "A cozy reading nook with a cat sleeping on a pile of books",
    "Write a haiku about autumn leaves.",
    "Summarise the plot of Hamlet in two sentences.",
    "Explain how a rainbow forms to a ten-year-old.",
    "isometric illustration of a tiny city built on a floating island",
    "Portrait of an elderly fisherman, dramatic side light, black and white",
    "Translate 'good morning, how are you?' into French.",
    "A minimalist logo of a mountain and the sun, flat vector",
)
QUESTIONS = (
    "What is in this image?",
    "How many people are in the picture?",
    "What is the capital of Australia?",
    "Why is the sky blue?",
    "What colour is the car on the left?",
    "Can you describe the mood of this scene in one sentence?",
)
NEGATIVE_PROMPTS = (
    "blurry, low quality, distorted",
    "watermark, text, signature",
    "extra fingers, deformed hands, bad anatomy",
    "oversaturated, overexposed",
)
SYSTEM_PROMPTS = (
    "You are a helpful assistant.",
    "You are a concise assistant. Answer in one sentence.",
    "You are a friendly tutor who explains things step by step.",
)
WORDS = ("hello", "test", "The quick brown fox jumps over the lazy dog.", "sample input", "42")

_TEXT_WORDS = frozenset({
    "prompt", "text", "caption", "question", "query", "instruction", "instructions", "message",
    "input", "description", "lyrics", "content", "sentence", "story", "context", "transcript",
    "title", "prefix", "utterance", "script",
})  # fmt: skip
_PATTERN_TRIES = 8


def text_pool(name: str) -> tuple[str, ...]:
    """Realistic strings for a free-text input, chosen by its name."""
    tokens = name_tokens(name)
    if "negative" in tokens:
        return NEGATIVE_PROMPTS
    if "system" in tokens:
        return SYSTEM_PROMPTS
    if tokens & {"question", "query"}:
        return QUESTIONS
    if tokens & _TEXT_WORDS:
        return PROMPTS
    return WORDS


def long_text(name: str, length: int) -> str:
    """Realistic text of exactly `length` characters (the pool, repeated and cut)."""
    text = " ".join(text_pool(name))
    while len(text) < length:
        text = f"{text} {text}"
    text = text[:length]
    return text[:-1] + "." if text.endswith(" ") else text


def fits_pattern(flat: dict[str, Any], text: str) -> bool:
    """Whether `text` matches the property's `pattern` (True when it has none)."""
    pattern = flat.get("pattern")
    if not isinstance(pattern, str):
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def fits_length(flat: dict[str, Any], text: str) -> bool:
    max_len, min_len = flat.get("maxLength"), flat.get("minLength")
    too_long = isinstance(max_len, int) and len(text) > max_len
    return not too_long and not (isinstance(min_len, int) and len(text) < min_len)


def fit_length(text: str, flat: dict[str, Any], pool: tuple[str, ...] = WORDS) -> str:
    """`text` grown to minLength (with more of the pool) and cut to maxLength at a word."""
    min_len, max_len = flat.get("minLength"), flat.get("maxLength")
    if isinstance(min_len, int) and len(text) < min_len:
        extra = " ".join(pool) or "text"
        while len(text) < min_len:
            text = f"{text} {extra}"
    if isinstance(max_len, int) and len(text) > max_len:
        cut = text[:max_len]
        space = cut.rfind(" ")
        shorter = cut[:space].rstrip(" ,") if space > 0 else cut
        long_enough = not isinstance(min_len, int) or len(shorter) >= min_len
        text = shorter if shorter and long_enough else cut
    return text


def fitting_texts(name: str, flat: dict[str, Any], rng: random.Random) -> list[str]:
    """Non-empty strings this input accepts, most realistic first ([] if none were found).

    The name's pool, fitted to the length limits and filtered by the pattern; when the
    pattern rejects the whole pool, examples written from the pattern itself.
    """
    pool = text_pool(name)
    found: list[str] = []
    for text in pool:
        fitted = fit_length(text, flat, pool)
        fits = fitted and fits_length(flat, fitted) and fits_pattern(flat, fitted)
        if fits and fitted not in found:
            found.append(fitted)
    pattern = flat.get("pattern")
    if found or not isinstance(pattern, str):
        return found
    for _ in range(_PATTERN_TRIES):
        example = pattern_example(pattern, rng)
        fits = example and fits_length(flat, example) and fits_pattern(flat, example)
        if fits and example not in found:
            found.append(example)
    return found
