"""factory-boy factories for every model; secrets are generated, never literals."""

import base64
import json
import secrets

import factory
from django.contrib.auth import get_user_model

from channels_app import models as channels
from portal import models as portal
from sessions_app import models as sessions
from tests import keys


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ApiSpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = portal.ApiSpace

    name = factory.Sequence(lambda n: f"Space {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = portal.Membership

    user = factory.SubFactory(UserFactory)
    space = factory.SubFactory(ApiSpaceFactory)
    role = portal.Role.OWNER


class AppMessagingAuthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sessions.AppMessagingAuth

    space = factory.SubFactory(ApiSpaceFactory)
    issuer = "https://auth.example.com/"
    audience = "pushport"
    # 64 characters: long enough for HS512 as RFC 7518 asks.
    shared_secret = factory.LazyFunction(lambda: secrets.token_urlsafe(48))
    id_claim = "sub"


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sessions.Profile

    space = factory.SubFactory(ApiSpaceFactory)
    profile_id = factory.Sequence(lambda n: f"user-{n}")


class FcmCredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = channels.FcmCredential

    class Params:
        token_uri = "https://oauth2.googleapis.com/token"

    space = factory.SubFactory(ApiSpaceFactory)
    package_name = "com.example.app"
    project_id = "demo-project"
    client_email = factory.LazyAttribute(
        lambda c: f"pushport@{c.project_id}.iam.gserviceaccount.com"
    )
    service_account_json = factory.LazyAttribute(
        lambda c: json.dumps(
            keys.service_account_json(project_id=c.project_id, token_uri=c.token_uri)
        )
    )


class ApnsTokenCredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = channels.ApnsCredential

    space = factory.SubFactory(ApiSpaceFactory)
    kind = channels.ApnsKind.TOKEN
    bundle_id = "com.example.app"
    key_p8 = factory.LazyFunction(lambda: keys.p8(keys.ec_p256_key()).decode())
    key_id = "ABC123DEFG"
    team_id = "TEAM123456"


class ApnsCertificateCredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = channels.ApnsCredential

    space = factory.SubFactory(ApiSpaceFactory)
    kind = channels.ApnsKind.CERTIFICATE
    bundle_id = "com.example.app"
    topic = "com.example.app"
    certificate_password = "s3cret"
    certificate_p12 = factory.LazyAttribute(
        lambda c: base64.b64encode(
            keys.p12(*keys.apns_certificate(bundle_id=c.bundle_id), c.certificate_password.encode())
        ).decode()
    )


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = channels.Device

    space = factory.SubFactory(ApiSpaceFactory)
    profile = factory.SubFactory(ProfileFactory, space=factory.SelfAttribute("..space"))
    platform = channels.Platform.IOS
    token = factory.LazyAttribute(
        lambda d: (
            secrets.token_hex(32)
            if d.platform == channels.Platform.IOS
            else secrets.token_urlsafe(120)
        )
    )
    environment = factory.LazyAttribute(
        lambda d: (
            channels.DeviceEnvironment.PRODUCTION if d.platform == channels.Platform.IOS else ""
        )
    )


class DeviceActivationFactory(factory.django.DjangoModelFactory):
    """A PowerAuth activation bound to a device (ACTIVE unless told)."""

    class Meta:
        model = channels.DeviceActivation

    device = factory.SubFactory(DeviceFactory)
    space = factory.SelfAttribute("device.space")
    activation_id = factory.Sequence(lambda n: f"activation-{n}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = channels.Message

    space = factory.SubFactory(ApiSpaceFactory)
    to = factory.LazyFunction(lambda: {"profileId": "user-1"})
    rules = factory.LazyFunction(lambda: ["nativePush"])
    title = "Hello"
    body = "World"


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = channels.Delivery

    message = factory.SubFactory(MessageFactory)
    device = factory.SubFactory(DeviceFactory, space=factory.SelfAttribute("..message.space"))
    platform = factory.SelfAttribute("device.platform")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = channels.Campaign

    space = factory.SubFactory(ApiSpaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    message = factory.LazyFunction(
        lambda: {"rules": ["nativePush"], "title": "Sale", "body": "Half price today"}
    )


class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = channels.Webhook

    space = factory.SubFactory(ApiSpaceFactory)
    url = "https://hooks.example.com/pushport"
    secret = factory.LazyFunction(lambda: "whsec_" + secrets.token_urlsafe(32))
    events = factory.LazyFunction(lambda: [e.value for e in channels.WebhookEvent])
