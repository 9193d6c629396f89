/** fdrestore plugin for the "regular" file kind: Regular files, with ghost and linked remaps. */
module fdrestore.plugin.regularfile {
    requires fdrestore.api;
    requires org.pf4j;
}
