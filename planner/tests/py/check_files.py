#!/usr/bin/env python3
"""Load Aviary's mission files into real third-party tools and check the item counts.

usage: check_files.py WPL_FILE EXPECTED_WPL_ITEMS PLAN_FILE EXPECTED_PLAN_ITEMS

- WPL: pymavlink's mavwp.MAVWPLoader().load() (what MAVProxy's `wp load` uses). The
  expected count includes the home line (item 0).
- .plan: MAVSDK's MissionRaw.import_qgroundcontrol_mission (mavsdk 4.x native binding). It
  needs a System, so a pymavlink heartbeat on a loopback UDP port stands in for a vehicle.
  The import itself is local parsing.

Exit codes: 0 ok, 1 a tool rejected a file or counts differ, 2 a module is missing (skip).
"""
import socket
import sys
import threading
import time


def main() -> int:
    wpl, n_wpl, plan, n_plan = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    try:
        from pymavlink import mavutil, mavwp
    except ImportError as e:
        print(f"SKIP: pymavlink is not installed ({e})")
        return 2
    try:
        from mavsdk import ComponentType, Configuration, Mavsdk
        from mavsdk.plugins.mission_raw import MissionRaw
    except ImportError as e:
        print(f"SKIP: mavsdk (4.x) is not installed ({e})")
        return 2

    loader = mavwp.MAVWPLoader()
    got = loader.load(wpl)
    print(f"pymavlink mavwp loaded {got} items from {wpl}")
    if got != n_wpl or loader.count() != n_wpl:
        print(f"FAIL: pymavlink loaded {got} items, expected {n_wpl}")
        return 1
    first = loader.wp(1)
    print(f"pymavlink item 1: command {first.command} frame {first.frame} lat {first.x} lon {first.y} alt {first.z}")

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mav = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
    mav.add_any_connection(f"udpin://127.0.0.1:{port}")
    vehicle = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=1, source_component=1)
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            vehicle.mav.heartbeat_send(
                mavutil.mavlink.MAV_TYPE_QUADROTOR, mavutil.mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, 0
            )
            stop.wait(0.1)

    t = threading.Thread(target=beat, name="fake-vehicle-heartbeat", daemon=True)
    t.start()
    try:
        system = mav.first_autopilot(timeout_s=10.0)
        if system is None:
            print("FAIL: MAVSDK saw no system on loopback")
            return 1
        data = MissionRaw(system).import_qgroundcontrol_mission(plan)
        n = len(data.mission_items)
        print(f"MAVSDK imported {n} mission items, {len(data.geofence_items)} geofence items, {len(data.rally_items)} rally items from {plan}")
        if n != n_plan:
            print(f"FAIL: MAVSDK imported {n} mission items, expected {n_plan}")
            return 1
        if not data.geofence_items or not data.rally_items:
            print("FAIL: MAVSDK imported no geofence or no rally points")
            return 1
        if not any(i.current for i in data.mission_items):
            print("FAIL: no mission item is marked current")
            return 1
    finally:
        stop.set()
        t.join(timeout=2)
        vehicle.close()
        mav.destroy()
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
