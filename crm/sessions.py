"""Sessions in PostgreSQL with a Redis copy in front, where Redis is optional.

Django's cached_db engine still fails a request when the cache is down (it
writes back on a cache miss, and checks and deletes through the cache). Here
PostgreSQL holds the truth and every cache call may fail: a Redis outage costs
speed, never a signed-in session or a log-in.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db, db

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(cached_db.SessionStore):
    def _cache_call(self, method: str, *args):
        try:
            return getattr(self._cache, method)(*args)
        except Exception:
            logger.warning("Session cache unavailable; using the database alone.", exc_info=True)
            return None

    def load(self):
        data = self._cache_call("get", self.cache_key)
        if data is None:
            stored = self._get_session_from_db()
            if stored is None:
                return {}
            data = self.decode(stored.session_data)
            self._cache_call(
                "set", self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date)
            )
        return data

    def exists(self, session_key):
        if session_key and self._cache_call("has_key", self.cache_key_prefix + session_key):
            return True
        return db.SessionStore.exists(self, session_key)

    def save(self, must_create=False):
        db.SessionStore.save(self, must_create)
        self._cache_call("set", self.cache_key, self._session, self.get_expiry_age())

    def delete(self, session_key=None):
        db.SessionStore.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._cache_call("delete", self.cache_key_prefix + session_key)
