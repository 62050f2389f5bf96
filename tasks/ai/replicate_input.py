"""Our request as a hosted model's input, mapped by the model's own schema. Pure logic.

Why a mapping and not a guess: models on Replicate name their inputs as their authors chose,
and an input the model does not have is refused. So the fields are found in the model's
OpenAPI Input schema: the prompt (required: without one the model cannot be asked anything),
the system prompt, the answer's token limit (kept within the schema's bounds), and the image
input, either one `format: uri` string (`image`) or an array of them (`images`).
Replicate's Claude models take one prompt and at most one image, so a conversation (our JSON
re-asks) is flattened into one transcript-like prompt, and several images become one picture
side by side, which the prompt then describes (tasks.ai.images).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasks.ai.errors import AIError
from tasks.ai.exchange import Request
from tasks.ai.images import Picture, block_picture, data_uri, side_by_side, within
from tasks.core import openapi

PROMPT_NAMES = ("prompt", "input", "text", "message", "question", "query")
SYSTEM_NAMES = ("system_prompt", "system", "system_message", "instructions")
TOKEN_NAMES = ("max_tokens", "max_new_tokens", "max_output_tokens", "max_completion_tokens")
IMAGE_NAMES = ("image", "input_image", "image_url", "image_input")
IMAGES_NAMES = ("images", "input_images", "image_urls", "image_input")
SUGGESTED = "anthropic/claude-4.5-sonnet"


@dataclass(frozen=True)
class InputFields:
    """Where each part of a request goes in one model's input (None: it has no such field)."""

    model: str
    prompt: str
    system: str | None = None
    max_tokens: str | None = None
    token_bounds: tuple[int | None, int | None] = (None, None)
    image: str | None = None  # one image, a URI string
    images: str | None = None  # several images, an array of URI strings


def input_fields(model: str, document: Mapping[str, Any]) -> InputFields:
    """The fields of `model`'s input schema (an OpenAPI document) that our requests use."""
    props = openapi.input_properties(dict(document)) if openapi.looks_like_openapi(document) else {}
    if not props:
        raise AIError(
            f"{model} publishes no input schema on Replicate, so a question cannot be mapped "
            f"onto its inputs; choose another --ai-model, e.g. {SUGGESTED}"
        )
    prompt = _first(props, PROMPT_NAMES, _is_text)
    if prompt is None:
        raise AIError(
            f"{model} has no prompt input (its inputs: {', '.join(sorted(props))}), so it cannot "
            f"be asked a question; choose another --ai-model, e.g. {SUGGESTED}"
        )
    tokens = _first(props, TOKEN_NAMES, _is_integer)
    bounds = (None, None)
    if tokens is not None:
        bounds = (_bound(props[tokens], "minimum"), _bound(props[tokens], "maximum"))
    return InputFields(
        model=model,
        prompt=prompt,
        system=_first(props, SYSTEM_NAMES, _is_text),
        max_tokens=tokens,
        token_bounds=bounds,
        image=_first(props, IMAGE_NAMES, _is_uri) or _named_image(props, _is_uri),
        images=_first(props, IMAGES_NAMES, _is_uri_list) or _named_image(props, _is_uri_list),
    )


def model_input(fields: InputFields, request: Request) -> dict[str, Any]:
    """The prediction input that asks `request` of the model `fields` describe."""
    text, pictures = flatten(request.messages)
    values: dict[str, Any] = {}
    if pictures:
        if fields.images:
            values[fields.images] = [data_uri(within(p)) for p in pictures]
        elif fields.image:
            if len(pictures) > 1:
                text = f"{combined_note(len(pictures))}\n\n{text}"
            values[fields.image] = data_uri(within(side_by_side(pictures)))
        else:
            raise AIError(
                f"{fields.model} takes no image, and this question shows {len(pictures)}; "
                f"choose an --ai-model with an image input, e.g. {SUGGESTED}"
            )
    if request.system and fields.system:
        values[fields.system] = request.system
    elif request.system:
        text = f"{request.system}\n\n{text}"
    if fields.max_tokens:
        values[fields.max_tokens] = clamp(request.max_tokens, fields.token_bounds)
    values[fields.prompt] = text
    return values


def flatten(messages: list[dict[str, Any]]) -> tuple[str, list[Picture]]:
    """One prompt for the whole conversation, and its images in order. A single message is
    its own text; a longer one is written out turn by turn, to be answered at its end."""
    turns: list[tuple[str, str]] = []
    pictures: list[Picture] = []
    for message in messages:
        texts: list[str] = []
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks or []:
            if block.get("type") == "image":
                pictures.append(block_picture(block))
            elif block.get("type") == "text":
                texts.append(str(block.get("text") or ""))
        turns.append((str(message.get("role") or "user"), "\n\n".join(texts)))
    if len(turns) == 1:
        return turns[0][1], pictures
    heads = {"user": "--- my message ---", "assistant": "--- your answer ---"}
    body = "\n\n".join(f"{heads.get(role, f'--- {role} ---')}\n{text}" for role, text in turns)
    intro = "Our conversation so far, turn by turn. Reply to my last message only."
    return f"{intro}\n\n{body}", pictures


def combined_note(count: int) -> str:
    """What the prompt says about a side-by-side picture of `count` images."""
    return (
        f"The {count} images this question refers to are attached as one picture: side by "
        'side from left to right, each labelled above it. "image 1" (the leftmost) is the '
        f'first image, "image {count}" (the rightmost) the last.'
    )


def clamp(value: int, bounds: tuple[int | None, int | None]) -> int:
    low, high = bounds
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


def _first(props: Mapping[str, Any], names: tuple[str, ...], fits: Any) -> str | None:
    return next((name for name in names if name in props and fits(props[name])), None)


def _named_image(props: Mapping[str, Any], fits: Any) -> str | None:
    """Any other input with "image" in its name and the right shape (e.g. `input_image_1`)."""
    return next((n for n in sorted(props) if "image" in n.lower() and fits(props[n])), None)


def _is_text(prop: Any) -> bool:
    return isinstance(prop, dict) and prop.get("type") == "string" and "format" not in prop


def _is_integer(prop: Any) -> bool:
    return isinstance(prop, dict) and prop.get("type") == "integer"


def _is_uri(prop: Any) -> bool:
    return isinstance(prop, dict) and prop.get("type") == "string" and prop.get("format") == "uri"


def _is_uri_list(prop: Any) -> bool:
    return (
        isinstance(prop, dict) and prop.get("type") == "array" and _is_uri(prop.get("items") or {})
    )


def _bound(prop: Mapping[str, Any], key: str) -> int | None:
    value = prop.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
