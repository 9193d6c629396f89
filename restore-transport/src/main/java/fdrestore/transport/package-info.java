/** The datagram SCM_RIGHTS transport: one abstract socket per task table, non-blocking sends and receives. */
package fdrestore.transport;
