"""OpenDialer: an open-source outbound campaign dialer."""

__version__ = "0.1.0"
