import hashlib
import hmac

from cog import BasePredictor, Input, Secret


def tag(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()[:12]


class Predictor(BasePredictor):
    def predict(
        self,
        text: str = Input(description="The message to sign"),
        signing_key: Secret = Input(description="Key that signs the message (required)"),
        proxy_key: Secret = Input(
            description="Key for a second signature; omitted means no second signature",
            default=None,
        ),
        audit_key: Secret | None = Input(
            description="Key for an audit signature, if auditing is wanted", default=None
        ),
    ) -> str:
        parts = [f"{text} | signed {tag(signing_key.get_secret_value() or '', text)}"]
        for name, key in (("proxy", proxy_key), ("audit", audit_key)):
            if key is not None and key.get_secret_value():
                parts.append(f"{name} {tag(key.get_secret_value(), text)}")
        return " | ".join(parts)
