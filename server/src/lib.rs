//! `aviary-server`: Optional fleet server: REST + WebSocket over PostgreSQL and MQTT.
