"""Prometheus metrics of the realm, served over HTTP (config [metrics] listen)."""
from .http import MetricsServer
from .realm_metrics import Reading, RealmMetrics
from .registry import CONTENT_TYPE, Counter, Gauge, Histogram, render

__all__ = ["CONTENT_TYPE", "Counter", "Gauge", "Histogram", "MetricsServer", "Reading", "RealmMetrics", "render"]
