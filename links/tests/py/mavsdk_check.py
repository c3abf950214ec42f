"""MAVSDK (native `mavsdk` 4 binding) against the Aviary simulator.

Usage: python3 mavsdk_check.py PORT
Connects with udpin://127.0.0.1:PORT, sees position and armed state, uploads and downloads a
mission (first item marked current), arms and takes off. Prints one line per step and
`RESULT ok` at the end; exits non-zero on the first failure.
"""

import asyncio
import sys

from mavsdk.asyncio import ComponentType, Configuration, Mavsdk, System
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.mission_raw import MissionItem, MissionRawAsync
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync


def step(msg):
    print(msg, flush=True)


async def first(gen, pred, timeout):
    async def inner():
        async for v in gen:
            if pred(v):
                return v
    return await asyncio.wait_for(inner(), timeout)


async def main(port):
    config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
    async with Mavsdk(config) as sdk:
        await sdk.add_any_connection(f"udpin://127.0.0.1:{port}")
        system = await sdk.first_autopilot(timeout_s=20.0)
        if system is None:
            raise SystemExit("no autopilot discovered")
        step(f"connected sysid={await system.get_system_id()}")
        telemetry = TelemetryAsync(system)
        action = ActionAsync(system)
        mission = MissionRawAsync(system)
        # ArduPilot-like: nothing but heartbeats until rates are set.
        await telemetry.set_rate_position(5.0)
        pos = await first(telemetry.subscribe_position(), lambda p: abs(p.latitude_deg) > 1.0, 20)
        step(f"position lat={pos.latitude_deg:.6f} lon={pos.longitude_deg:.6f} rel_alt={pos.relative_altitude_m:.1f}")
        armed = await first(telemetry.subscribe_armed(), lambda a: True, 10)
        step(f"armed={armed}")
        if armed:
            raise SystemExit("vehicle armed before we armed it")

        lat, lon = int(pos.latitude_deg * 1e7), int(pos.longitude_deg * 1e7)
        items = []
        for seq in range(5):
            cmd = 22 if seq == 1 else 16  # NAV_TAKEOFF, NAV_WAYPOINT
            items.append(MissionItem(seq=seq, frame=3, command=cmd, current=1 if seq == 0 else 0, autocontinue=1,
                                     param1=0, param2=0, param3=0, param4=float("nan") if seq > 1 else 0,
                                     x=lat + seq * 900, y=lon + seq * 500, z=20.0 + seq, mission_type=0))
        await mission.upload_mission(items)
        step("mission uploaded")
        back = await mission.download_mission()
        step(f"mission downloaded: {len(back)} items")
        if len(back) != len(items):
            raise SystemExit(f"downloaded {len(back)} items, uploaded {len(items)}")
        for a, b in zip(items[1:], back[1:]):
            if (a.x, a.y, a.command) != (b.x, b.y, b.command) or abs(a.z - b.z) > 1e-3:
                raise SystemExit(f"item {a.seq} differs: {a} vs {b}")
        step("mission content identical (item 0 is home)")

        await action.set_takeoff_altitude(10.0)
        await action.arm()
        await first(telemetry.subscribe_armed(), lambda a: a, 10)
        step("armed=True")
        await action.takeoff()
        p = await first(telemetry.subscribe_position(), lambda p: p.relative_altitude_m > 5.0, 60)
        step(f"took off rel_alt={p.relative_altitude_m:.1f}")
        step("RESULT ok")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
