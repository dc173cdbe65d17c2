"""The REST API: one NinjaAPI assembling each app's router (OpenAPI at /api/openapi.json)."""

from ninja import NinjaAPI

from cxcore.api import errors
from cxcore.api.auth import AUTH

api = NinjaAPI(
    title="cxcore API",
    version="1",
    description=(
        "Customers, identities, interactions, consents, preferences and the membrane. "
        "Authenticate with "
        "`Authorization: Bearer <token>` (create tokens in the console). "
        'Errors are JSON: `{"error": {"code", "message", "field"}}`.'
    ),
    auth=AUTH,
    urls_namespace="rest",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)

from cxcore.customers.api import router as customers_router  # noqa: E402
from cxcore.feedback.api import router as feedback_router  # noqa: E402
from cxcore.interactions.api import router as interactions_router  # noqa: E402
from cxcore.membrane.api import router as membrane_router  # noqa: E402
from cxcore.text.api import router as text_router  # noqa: E402

api.add_router("/", customers_router)
api.add_router("/", interactions_router)
api.add_router("/", membrane_router)
api.add_router("/", feedback_router)
api.add_router("/", text_router)
