/** The timerfd file kind: timers created with their clock, armed with the time left and the interval. */
package fdrestore.plugin.timerfd;
