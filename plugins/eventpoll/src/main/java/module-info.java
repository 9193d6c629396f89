/** fdrestore plugin for the "eventpoll" file kind: epoll instances. */
module fdrestore.plugin.eventpoll {
    requires fdrestore.core;
    requires org.pf4j;
}
