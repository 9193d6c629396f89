/** fdrestore plugin ${artifactId}: the "${kindName}" file kind. Depends on the API only. */
module ${package} {
    requires fdrestore.api;
    requires org.pf4j;
}
