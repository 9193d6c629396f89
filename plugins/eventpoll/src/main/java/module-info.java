/** fdrestore plugin for the "eventpoll" file kind: epoll instances. */
module fdrestore.plugin.eventpoll {
    requires fdrestore.api;
    requires org.pf4j;
}
