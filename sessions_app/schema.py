"""OpenAPI descriptions of the authentication schemes the Session API accepts."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sessions_app.authentication.SessionTokenAuthentication"
    name = "sessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The token from POST /apispaces/{apiSpaceId}/sessions.",
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "portal.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key of the space, as created in the portal.",
        }


class BasicApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "portal.authentication.BasicApiKeyAuthentication"
    name = "basicApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Username: the apiSpaceId. Password: an API key of that space.",
        }
