"""Metrics at run time: a KPI computed through the query compiler with the asker's permissions.

`compute.compute_metric` answers a metric for a period (`periods.parse_period`), optionally
grouped, in one statement (numerator and denominator side by side); `compute.drill_down` pages
through the records behind the numerator or the denominator. May import the runtime core.
"""
