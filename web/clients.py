"""The clients the factory creates once and keeps on `app.extensions`, and their accessors."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from redis import Redis
from rq import Queue

from contract.settings import Settings
from producer.connection import connect, fanout_queue

EXTENSION = "fanout"


@dataclass(frozen=True)
class Clients:
    settings: Settings
    redis: Redis
    queue: Queue


def init_clients(app: Flask, settings: Settings) -> None:
    """Build the Redis client and RQ queue. Nothing connects yet: the app starts with Redis down."""
    redis = connect(settings)
    app.extensions[EXTENSION] = Clients(settings=settings, redis=redis, queue=fanout_queue(redis))


def clients() -> Clients:
    found: Clients = current_app.extensions[EXTENSION]
    return found


def get_settings() -> Settings:
    return clients().settings


def get_redis() -> Redis:
    return clients().redis


def get_queue() -> Queue:
    return clients().queue
