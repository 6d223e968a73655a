"""The PowerAuth Push Server API (release 2021.03, with the later release's names) on Pushport.

A PowerAuth application is a Pushport space (its numeric appId is PowerAuthApp.app_id), a user
is a Profile (userId = profile_id), an activation is a DeviceActivation of a Device (one device
may carry several). Every route needs a Pushport API key of the space.
"""
