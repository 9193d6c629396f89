package fdrestore.plugin.unixsocket;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Payload;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.ScmEntry;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.plugin.unixsocket.SockPlan.Pair;
import fdrestore.plugin.unixsocket.SockPlan.QueueJob;
import fdrestore.plugin.unixsocket.SockPlan.QueueMode;
import fdrestore.plugin.unixsocket.SockPlan.Role;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one image set says about unix sockets, planned once per image set (linear in the number of
 * sockets): every socket with an fd, its {@link SockPlan}, and who re-sends each queued packet.
 *
 * <p>The rules, before any syscall:
 * <ul>
 * <li>A listener binds and listens; it also makes each accepted connection that carries its name (connect
 * of the client, then accept), before any unaccepted client may connect, so each accept returns the right
 * connection.</li>
 * <li>Two sockets in the images that are peers of each other form a pair, made once by one creator (the
 * end whose master comes first) and handed to the other end's master. A stream or seqpacket pair where an
 * end carries a name is an accepted connection: made through a listener at that name (the restored one if
 * it exists, else a temporary one) so the name survives; else socketpair().</li>
 * <li>An established client whose peer is a listener is an unaccepted connection: it connects to the
 * restored listener once that listens. A datagram socket connected to a named socket connects once that is
 * bound.</li>
 * <li>The queuer of a receiver: its pair peer; else the datagram socket connected to it; else (datagram,
 * named) a temporary socket that sends to its name; else (unnamed, nobody sends to it: its sender is gone)
 * the other end of a socketpair that is closed afterwards. A datagram socket connected to itself sends
 * its own queue once it connected to its own name.</li>
 * <li>A path name deleted after bind is bound again as a {@link DeletedName}; the sockets that connect
 * or send to it are its {@code nameUsers}, and it is released once they all did.</li>
 * <li>A file that a queued packet passes and that no fd refers to exists only in flight: it is asked
 * for in the queuer's task ({@link #inFlight()}, {@code FileKind.inFlight}).</li>
 * <li>A peer with {@code USK_EXTERN} (outside the dumped tree) is refused by name.</li>
 * </ul>
 */
final class UnixImages {
    static final int SCM_RIGHTS = 1;

    private final Map<Long, SockPlan> plans = new LinkedHashMap<>();
    /** Files that exist only in flight (no fd refers to them) that a queuer passes, by id: its task. */
    private final Map<Long, Integer> inFlight = new LinkedHashMap<>();
    private final String imageError;

    /** Never holds the image set itself: the cache's weak key must stay collectable. */
    private UnixImages(ImageSet images) {
        Map<Long, UnixSock> socks = new TreeMap<>();
        for (FileEntry f : images.files().values()) {
            if (!f.hasUsk()) {
                continue;
            }
            long id = Integer.toUnsignedLong(f.getId());
            FleInfo master = FleInfo.defaultMaster(images, id);
            if (master != null) {
                socks.put(id, UnixSock.of(f.getUsk(), master));
            }
        }
        Map<Long, List<Packet>> packets = new LinkedHashMap<>();
        String err = null;
        try {
            packets = readQueues(images.image(Magic.SK_QUEUES));
        } catch (IOException | PlanException e) {
            err = "cannot read " + Magic.SK_QUEUES.fileName() + ": " + e.getMessage();
        }
        this.imageError = err;
        Planner p = new Planner(socks, packets, images);
        p.plan();
        plans.putAll(p.plans);
        inFlight.putAll(p.inFlight);
    }

    /** Files no fd refers to that queued packets pass, by id, with the task that re-sends them. */
    Map<Long, Integer> inFlight() {
        return java.util.Collections.unmodifiableMap(inFlight);
    }

    /** The plans of this restore's image set, made once per plan ({@link PlanContext#memo}). */
    static UnixImages of(PlanContext ctx) {
        return ctx.memo(UnixImages.class, () -> new UnixImages(ctx.images()));
    }

    /** Plans an image set on its own (what {@code FileKind.inFlight} reads, tests). */
    static UnixImages plan(ImageSet images) {
        return new UnixImages(images);
    }

    /** The plan of socket file {@code fileId}; throws when the images cannot be restored for it. */
    SockPlan plan(long fileId) throws PlanException {
        if (imageError != null) {
            throw new PlanException(imageError);
        }
        SockPlan p = plans.get(fileId);
        if (p == null) {
            throw new PlanException("file " + fileId + " is not a unix socket with an fd");
        }
        if (p.error != null) {
            throw new PlanException(p.error);
        }
        return p;
    }

    /** sk-queues.img by receiving file id, in image order; each payload exactly {@code length} bytes. */
    static Map<Long, List<Packet>> readQueues(ImageFile image) throws PlanException {
        Map<Long, List<Packet>> out = new LinkedHashMap<>();
        int i = 0;
        for (ImageEntry e : image.entries()) {
            SkPacketEntry pe = e.message(SkPacketEntry.class);
            long id = Integer.toUnsignedLong(pe.getIdFor());
            Payload payload = e.payloadView() == null ? Payload.of(new byte[0]) : e.payloadView();
            if (payload.length() != Integer.toUnsignedLong(pe.getLength())) {
                throw new PlanException("packet " + i + " for file " + id + " announces "
                        + Integer.toUnsignedLong(pe.getLength()) + " bytes but " + payload.length() + " follow it");
            }
            List<Long> rights = new ArrayList<>();
            for (ScmEntry scm : pe.getScmList()) {
                if (scm.getType() == SCM_RIGHTS) {
                    for (int r : scm.getRightsList()) {
                        rights.add(Integer.toUnsignedLong(r));
                    }
                }
                // SCM_CREDENTIALS cannot be forged: the receiver sees the restorer's credentials.
            }
            out.computeIfAbsent(id, k -> new ArrayList<>())
                    .add(new Packet(id, payload, rights.stream().mapToLong(Long::longValue).toArray(),
                            image.magic().fileName() + " entry " + i));
            i++;
        }
        return out;
    }

    /** The planning pass; fills {@link #plans}, recording per socket what cannot be restored. */
    private static final class Planner {
        final Map<Long, UnixSock> socks;
        final Map<Long, List<Packet>> packets;
        final ImageSet images;
        final Map<Long, SockPlan> plans = new LinkedHashMap<>();
        final Map<Long, UnixSock> byIno = new HashMap<>();
        final Map<Long, fdrestore.api.image.proto.UnixSkEntry> inImages = new HashMap<>();
        final Map<Long, Integer> inFlight = new LinkedHashMap<>();

        Planner(Map<Long, UnixSock> socks, Map<Long, List<Packet>> packets, ImageSet images) {
            this.socks = socks;
            this.packets = packets;
            this.images = images;
            for (UnixSock s : socks.values()) {
                byIno.put(s.ino(), s);
                plans.put(s.id(), new SockPlan(s));
            }
            for (FileEntry f : images.files().values()) {
                if (f.hasUsk()) {
                    inImages.put(Integer.toUnsignedLong(f.getUsk().getIno()), f.getUsk());
                }
            }
        }

        private void fail(UnixSock s, String why) {
            SockPlan p = plans.get(s.id());
            if (p.error == null) {
                p.error = s + ": " + why;
            }
        }

        void plan() {
            for (UnixSock s : socks.values()) {
                checkAlone(s);
            }
            for (UnixSock s : socks.values()) {
                SockPlan p = plans.get(s.id());
                if (p.error != null || p.pair != null) {
                    continue;
                }
                roleOf(s, p);
            }
            for (Map.Entry<Long, List<Packet>> e : packets.entrySet()) {
                assignQueue(e.getKey(), e.getValue());
            }
        }

        /** What is wrong with a socket whatever its peers. */
        private void checkAlone(UnixSock s) {
            if ((s.uflags() & (UnixSock.USK_EXTERN | UnixSock.USK_CALLBACK)) != 0) {
                fail(s, "an external or plugin-owned socket (uflags 0x" + Integer.toHexString(s.uflags())
                        + ") is not supported");
            } else if (s.type() != UnixSock.SOCK_STREAM && s.type() != UnixSock.SOCK_DGRAM
                    && s.type() != UnixSock.SOCK_SEQPACKET) {
                fail(s, "unknown socket type " + s.type());
            } else if (s.state() != UnixSock.TCP_ESTABLISHED && s.state() != UnixSock.TCP_CLOSE
                    && s.state() != UnixSock.TCP_LISTEN) {
                fail(s, "unknown socket state " + s.state());
            } else if (s.listening() && s.dgram()) {
                fail(s, "a datagram socket cannot listen");
            } else if (s.opts() != null && s.opts().getSoFilterCount() > 0) {
                fail(s, "a socket filter (SO_ATTACH_FILTER) is not supported");
            } else if (s.name().isPath()) {
                String why = s.name().escapesRoot(s.nameDir());
                if (why != null) {
                    fail(s, why + " (refused: it must resolve under --root)");
                }
            } else if (s.name().raw().length > UnixName.SUN_PATH_MAX) {
                fail(s, "the name is longer than sun_path");
            }
        }

        private UnixSock peerOf(UnixSock s) {
            if (s.peer() == 0) {
                return null;
            }
            UnixSock p = byIno.get(s.peer());
            fdrestore.api.image.proto.UnixSkEntry e = inImages.get(s.peer());
            if (p == null && e != null && (e.getUflags() & UnixSock.USK_EXTERN) != 0) {
                UnixName n = UnixName.of(e.getName().toByteArray());
                fail(s, "its peer is external: unix socket ino " + s.peer() + (n.isEmpty() ? "" : " " + n)
                        + ", outside the dumped tree (USK_EXTERN), which this restore does not map");
            } else if (p == null) {
                fail(s, "its peer, inode " + s.peer() + ", is " + (inImages.containsKey(s.peer())
                        ? "a socket that no task holds an fd of" : "absent from the image set")
                        + " (an external peer is not supported)");
            }
            return p;
        }

        private void roleOf(UnixSock s, SockPlan p) {
            p.bindOwnName = !s.name().isEmpty();
            if (s.listening()) {
                p.role = Role.LISTENER;
                return;
            }
            if (s.peer() == 0) {
                if (s.connectionOriented() && s.established()) {
                    p.role = Role.ORPHAN; // its peer was closed: a socketpair whose other end goes away
                }
                return;
            }
            UnixSock peer = peerOf(s);
            if (peer == null) {
                return;
            }
            if (s.connectionOriented()) {
                if (!s.established()) {
                    fail(s, "has a peer but is not established");
                } else if (peer.listening()) {
                    if (peer.type() != s.type()) {
                        fail(s, "is connected to listener " + peer + " of another type");
                    } else {
                        p.connectTo = peer; // an unaccepted connection: it sits in the listener's queue
                        usesName(peer, s);
                    }
                } else if (peer.peer() == s.ino()) {
                    pair(s, peer);
                } else {
                    fail(s, "its peer " + peer + " is connected to inode " + peer.peer() + ", not to it");
                }
                return;
            }
            // datagram
            if (peer == s) {
                if (s.name().isEmpty()) {
                    fail(s, "is connected to itself but has no name to connect to");
                } else {
                    p.connectTo = s; // connected to itself: it connects to its own name once bound
                }
            } else if (peer.peer() == s.ino()) {
                pair(s, peer);
            } else if (peer.name().isEmpty()) {
                fail(s, "is connected to " + peer + ", which has no name to connect to");
            } else {
                p.connectTo = peer;
                usesName(peer, s);
            }
        }

        /** {@code user} connects or sends to {@code named}'s name: a deleted name stays reachable until it did. */
        private void usesName(UnixSock named, UnixSock user) {
            if (named.deleted() && named.name().isPath() && named != user) {
                plans.get(named.id()).nameUsers.add(user);
            }
        }

        private void pair(UnixSock x, UnixSock y) {
            if (x.type() != y.type()) {
                fail(x, "its peer " + y + " has another type");
                return;
            }
            SockPlan px = plans.get(x.id());
            SockPlan py = plans.get(y.id());
            if (py.error != null) {
                fail(x, "its peer cannot be restored: " + py.error);
                return;
            }
            UnixSock a = x.master().compareTo(y.master()) <= 0 ? x : y;
            UnixSock b = a == x ? y : x;
            Pair pair;
            if (x.connectionOriented() && (!x.name().isEmpty() || !y.name().isEmpty())) {
                UnixSock server;
                if (y.name().isEmpty()) {
                    server = x;
                } else if (x.name().isEmpty()) {
                    server = y;
                } else if (listenerNamed(x) != null) {
                    server = x;
                } else if (listenerNamed(y) != null) {
                    server = y;
                } else {
                    server = x.ino() > y.ino() ? x : y; // the accepted half is made after its client
                }
                UnixSock client = server == x ? y : x;
                pair = new Pair(a, b, true, server, client, listenerNamed(server));
            } else {
                pair = new Pair(a, b, false, null, null, null);
            }
            px.pair = pair;
            py.pair = pair;
            for (SockPlan q : new SockPlan[] {px, py}) {
                q.bindOwnName = !q.sock.name().isEmpty() && (!pair.accept() || q.sock == pair.client());
            }
            if (pair.listener() != null) {
                plans.get(pair.listener().id()).acceptJobs.add(pair);
                px.role = Role.HANDED;
                py.role = Role.HANDED;
                px.creatorFile = pair.listener().id();
                py.creatorFile = pair.listener().id();
            } else {
                plans.get(a.id()).role = Role.CREATOR;
                plans.get(b.id()).role = Role.HANDED;
                plans.get(b.id()).creatorFile = a.id();
            }
        }

        /** The restored listener (with an fd) of the same type bound at {@code s}'s name, or null. */
        private UnixSock listenerNamed(UnixSock s) {
            UnixSock found = null;
            for (UnixSock l : socks.values()) {
                if (l.listening() && l.type() == s.type() && l.name().equals(s.name())
                        && plans.get(l.id()).error == null && (found == null || found.deleted())) {
                    found = l;
                }
            }
            return found;
        }

        private void assignQueue(long receiverId, List<Packet> list) {
            UnixSock r = socks.get(receiverId);
            if (r == null) {
                // A socket with no fd (in flight): nothing restores it, nor its queue.
                return;
            }
            SockPlan rp = plans.get(receiverId);
            if (rp.error != null) {
                return;
            }
            UnixSock queuer;
            QueueMode mode;
            if (rp.role == Role.ORPHAN) {
                queuer = r;
                mode = QueueMode.FAKE_PEER;
            } else if (rp.pair != null) {
                queuer = rp.pair.other(r);
                mode = QueueMode.CONNECTED;
            } else if (r.listening()) {
                fail(r, "a listener cannot have queued packets");
                return;
            } else if (r.connectionOriented()) {
                fail(r, list.size() + " queued packet(s) of a connection whose other end is not in the images"
                        + (rp.connectTo != null ? " (an unaccepted connection)" : "") + " cannot be re-sent");
                return;
            } else if (r.peer() != 0) {
                // Connected to another: only that peer may send to it.
                UnixSock x = byIno.get(r.peer());
                if (x == null || plans.get(x.id()).error != null || r.name().isEmpty()) {
                    fail(r, "its queued packets can only come from its peer inode " + r.peer()
                            + ", which cannot send to it (the receiver has no name)");
                    return;
                }
                queuer = x;
                // Connected to itself, it takes packets only from itself: it sends them once connected.
                mode = x == r ? QueueMode.CONNECTED : QueueMode.SENDTO;
                usesName(r, x);
            } else {
                UnixSock x = null;
                for (UnixSock c : socks.values()) {
                    SockPlan cp = plans.get(c.id());
                    if (c.dgram() && cp.connectTo != null && cp.connectTo.id() == r.id() && cp.error == null) {
                        x = c;
                        break;
                    }
                }
                if (x != null) {
                    queuer = x;
                    mode = QueueMode.CONNECTED;
                } else if (!r.name().isEmpty()) {
                    queuer = r;
                    mode = QueueMode.TEMP;
                } else if (rp.role == Role.OWN && rp.connectTo == null) {
                    // Unnamed, and nothing sends to it: its sender is gone (the closed end of a socketpair,
                    // which leaves it established with no peer). One end of a new socketpair gets the
                    // packets from the other, which is then closed, as with a stream whose peer is gone.
                    rp.role = Role.ORPHAN;
                    queuer = r;
                    mode = QueueMode.FAKE_PEER;
                } else {
                    fail(r, "an unnamed datagram socket that no socket is connected to cannot get its "
                            + list.size() + " queued packet(s) back");
                    return;
                }
            }
            SockPlan qp = plans.get(queuer.id());
            Map<Long, Integer> passedInFlight = new LinkedHashMap<>();
            for (Packet pk : list) {
                if (mode == QueueMode.FAKE_PEER && java.util.Arrays.stream(pk.rights()).anyMatch(f -> f != r.id())) {
                    fail(r, "a queued packet of a socket whose peer is gone passes other files (SCM_RIGHTS):"
                            + " not supported");
                    return;
                }
                for (long f : pk.rights()) {
                    if (f == queuer.id()) {
                        continue;
                    }
                    boolean held = false;
                    for (ImageSet.FdRef ref : images.sharers(f)) {
                        held |= ref.pid() == queuer.master().pid();
                    }
                    if (images.sharers(f).isEmpty() && images.file(f).isPresent()) {
                        // No fd refers to it: it exists only in flight. Its own plugin opens it in the
                        // queuer's task, where no fd of it is placed (FileKind.inFlight).
                        Integer other = inFlight.get(f);
                        if (other != null && other != queuer.master().pid()) {
                            fail(r, "a queued packet passes file " + f + ", which exists only in flight and is"
                                    + " also re-sent by task " + other + " (not supported)");
                            return;
                        }
                        passedInFlight.put(f, queuer.master().pid());
                    } else if (!held) {
                        fail(r, "a queued packet passes file " + f + " (SCM_RIGHTS), but task "
                                + queuer.master().pid() + ", which re-sends the queue from " + queuer
                                + ", holds no fd of it (not supported)");
                        return;
                    }
                }
            }
            inFlight.putAll(passedInFlight);
            qp.inFlight.putAll(passedInFlight);
            qp.queues.add(new QueueJob(r, mode, list));
            rp.queuedBy = queuer;
        }
    }
}
