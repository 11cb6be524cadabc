"""The two leases, on a private redis-server: a sweep's driver and a supervisor's host name.
One holder at a time, renewed only by its holder, free again once it lapses or is released.
Both are redis-py's `Lock` (SET NX PX with a token; renewal and release check the token)."""

from __future__ import annotations

import pytest
from redis.lock import Lock

from conductor.sweep_driver import SweepDriver
from contract import keys
from contract.settings import Settings
from producer.sweep import DRIVER_LEASE_S
from worker.supervisor import HostLease


@pytest.fixture
def client(private_redis):
    return private_redis


def test_one_driver_holds_a_sweep_and_only_it_renews(client):
    sweep_id = "lease-sweep"
    first, second = (SweepDriver(client, Settings.from_env({})) for _ in range(2))
    queued = {"state": "queued"}
    assert not first._holds(sweep_id)  # nothing held yet
    assert first._claim(sweep_id, queued)
    assert not second._claim(sweep_id, queued)
    assert first._holds(sweep_id) and not second._holds(sweep_id)
    assert 0 < client.pttl(keys.sweep_driver_key(sweep_id)) <= DRIVER_LEASE_S * 1000
    assert isinstance(first.lease(sweep_id), Lock)

    client.delete(keys.sweep_driver_key(sweep_id))  # lapsed: its driver stalled too long
    assert not first._holds(sweep_id)
    assert second._claim(sweep_id, queued)
    assert second._holds(sweep_id) and not first._holds(sweep_id)


def test_a_second_supervisor_on_a_host_takes_the_next_name(client):
    first, second = HostLease(client, "lease-host"), HostLease(client, "lease-host")
    assert first.claim() == "lease-host"
    assert second.claim() == "lease-host/2"
    assert 0 < client.pttl(keys.host_lease_key("lease-host")) <= keys.ALIVE_TTL_S * 1000
    first.renew()
    assert first.name == "lease-host"
    assert isinstance(first.lock, Lock)

    client.delete(keys.host_lease_key("lease-host"))  # lapsed: a stall past the lease
    third = HostLease(client, "lease-host")
    assert third.claim() == "lease-host"  # taken over
    first.renew()  # the stalled one notices and moves on
    assert first.name == "lease-host/3"

    second.release()
    assert not client.exists(keys.host_lease_key("lease-host/2"))
    second.release()  # twice is harmless
    third.release()
    first.release()
    assert not client.exists(keys.host_lease_key("lease-host"))
