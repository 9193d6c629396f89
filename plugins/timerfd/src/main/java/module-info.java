/** fdrestore plugin for the "timerfd" file kind: timerfd timers. */
module fdrestore.plugin.timerfd {
    requires fdrestore.api;
    requires org.pf4j;
}
