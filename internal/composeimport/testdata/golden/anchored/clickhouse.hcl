# Imported from compose service "clickhouse" by stackctl import compose.
service "clickhouse" {
  image = "altinity/clickhouse-server:23.8.11.29.altinitystable"

  port "clickhouse" {
    container_port = 9000
    protocol       = "tcp"
  }
}
