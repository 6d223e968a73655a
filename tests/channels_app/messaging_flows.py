"""Helpers for App Messaging tests: SDK sessions and conversations over the REST routes."""

from tests.sessions_app.flows import open_session


def conv_url(space_id, conversation_id="", suffix="") -> str:
    url = f"/apispaces/{space_id}/conversations"
    if conversation_id:
        url += f"/{conversation_id}"
    return url + suffix


def create(client, space_id, conversation_id="c1", **body):
    """POST a conversation as the SDK's ConversationBuilder does; the response."""
    payload = {"id": conversation_id, "name": "Support", "isPublic": False, **body}
    return client.post(conv_url(space_id), payload, format="json")


def send(client, space_id, conversation_id="c1", text="hello", **body):
    payload = {"parts": [{"data": text, "size": len(text), "type": "text/plain"}], **body}
    return client.post(conv_url(space_id, conversation_id, "/messages"), payload, format="json")


def sessions(auth, *profile_ids):
    """One SDK client per profile id."""
    return [open_session(auth, profile_id=pid)[0] for pid in profile_ids]
