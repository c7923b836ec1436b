# Sourced by the MySQL image's entrypoint on a server's first start (docker compose): applies
# mysql/$OUTBOX_DATABASE.sql with the passwords from the environment. The native stack runs the
# same SQL file with the same variables (deploy/native/databases.py).
sql_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
{
    case "$OUTBOX_DATABASE" in
    post_service_db)
        echo "SET @post_service_password = $(sql_quote "$POST_SERVICE_DB_PASSWORD");"
        echo "SET @post_migrator_password = $(sql_quote "$POST_MIGRATOR_DB_PASSWORD");"
        echo "SET @post_relay_password = $(sql_quote "$POST_RELAY_DB_PASSWORD");"
        echo "SET @debezium_password = $(sql_quote "$DEBEZIUM_DB_PASSWORD");"
        ;;
    subscribe_service_db)
        echo "SET @subscribe_service_password = $(sql_quote "$SUBSCRIBE_SERVICE_DB_PASSWORD");"
        echo "SET @subscribe_migrator_password = $(sql_quote "$SUBSCRIBE_MIGRATOR_DB_PASSWORD");"
        ;;
    esac
    cat "/outbox/mysql/$OUTBOX_DATABASE.sql"
} | docker_process_sql
