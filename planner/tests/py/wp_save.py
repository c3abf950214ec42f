#!/usr/bin/env python3
"""Save a survey mission as MAVProxy's `wp save` does: pymavlink's mavwp.MAVWPLoader.save.

usage: wp_save.py OUT_FILE

Home, takeoff to 40 m, a speed of 6 m/s, two transects with the camera triggered every 12 m,
return to launch (the commands Aviary reads). Exit codes: 0 ok, 2 pymavlink is missing (skip).
"""
import sys


def main() -> int:
    out = sys.argv[1]
    try:
        from pymavlink import mavutil, mavwp
    except ImportError as e:
        print(f"SKIP: pymavlink is not installed ({e})")
        return 2
    m = mavutil.mavlink
    home = (47.397742, 8.545594)
    loader = mavwp.MAVWPLoader()

    def item(cmd, frame, p1=0.0, p2=0.0, p3=0.0, p4=0.0, lat=0.0, lon=0.0, alt=0.0):
        seq = loader.count()
        loader.add(m.MAVLink_mission_item_message(
            1, 1, seq, frame, cmd, 1 if seq == 0 else 0, 1, p1, p2, p3, p4, lat, lon, alt))

    rel = m.MAV_FRAME_GLOBAL_RELATIVE_ALT
    item(m.MAV_CMD_NAV_WAYPOINT, m.MAV_FRAME_GLOBAL, lat=home[0], lon=home[1], alt=488.0)
    item(m.MAV_CMD_NAV_TAKEOFF, rel, lat=home[0], lon=home[1], alt=40.0)
    item(m.MAV_CMD_DO_CHANGE_SPEED, m.MAV_FRAME_MISSION, 1.0, 6.0, -1.0)
    item(m.MAV_CMD_NAV_WAYPOINT, rel, lat=47.3980, lon=8.5460, alt=40.0)
    item(m.MAV_CMD_DO_SET_CAM_TRIGG_DIST, m.MAV_FRAME_MISSION, 12.0, 0.0, 1.0)
    for lat, lon in [(47.3980, 8.5480), (47.3983, 8.5480), (47.3983, 8.5460)]:
        item(m.MAV_CMD_NAV_WAYPOINT, rel, lat=lat, lon=lon, alt=40.0)
    item(m.MAV_CMD_DO_SET_CAM_TRIGG_DIST, m.MAV_FRAME_MISSION, 0.0, 0.0, 1.0)
    item(m.MAV_CMD_NAV_RETURN_TO_LAUNCH, m.MAV_FRAME_MISSION)
    loader.save(out)
    print(f"pymavlink mavwp saved {loader.count()} items to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
