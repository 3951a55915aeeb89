"""zcrm-emulator: a local emulator of Zoho CRM serverless functions."""

__version__ = "0.1.0"
