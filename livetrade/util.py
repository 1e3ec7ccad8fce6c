"""Small helpers for notebooks: ``util.df(objs)`` turns any list of dataclasses into a DataFrame."""

from livetrade.frames import df

__all__ = ["df"]
