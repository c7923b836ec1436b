# Sourced by the MySQL image's entrypoint on a server's first start (docker compose): applies
# mysql/$OUTBOX_DATABASE.sql with the passwords from the environment. The native stack runs the
# same SQL file with the same variables (deploy/native/databases.py).
# Not executable on purpose: docker-library's entrypoint sources a non-executable *.sh, so it can
# use the entrypoint's docker_process_sql; an executable one would run in a shell without it.

# `SET @name = 'value';` with value as a MySQL string literal (mysql/conf.d does not set
# NO_BACKSLASH_ESCAPES): a backslash and a quote doubled, as deploy/native/databases.py's
# sql_literal writes it.
outbox_set_variable() {
    printf "SET @%s = '%s';\n" "$1" "$(printf '%s' "$2" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"
}
{
    case "$OUTBOX_DATABASE" in
    post_service_db)
        outbox_set_variable post_service_password "$POST_SERVICE_DB_PASSWORD"
        outbox_set_variable post_migrator_password "$POST_MIGRATOR_DB_PASSWORD"
        outbox_set_variable post_relay_password "$POST_RELAY_DB_PASSWORD"
        outbox_set_variable debezium_password "$DEBEZIUM_DB_PASSWORD"
        ;;
    subscribe_service_db)
        outbox_set_variable subscribe_service_password "$SUBSCRIBE_SERVICE_DB_PASSWORD"
        outbox_set_variable subscribe_migrator_password "$SUBSCRIBE_MIGRATOR_DB_PASSWORD"
        outbox_set_variable read_model_sink_password "$READ_MODEL_SINK_DB_PASSWORD"
        ;;
    esac
    cat "/outbox/mysql/$OUTBOX_DATABASE.sql"
} | docker_process_sql
