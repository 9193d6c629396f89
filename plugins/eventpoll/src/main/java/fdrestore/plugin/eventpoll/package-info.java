/** The eventpoll file kind: epoll instances, created first, their targets added once they are restored. */
package fdrestore.plugin.eventpoll;
