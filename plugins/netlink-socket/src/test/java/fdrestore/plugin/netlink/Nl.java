package fdrestore.plugin.netlink;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.NetlinkSkEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import java.util.function.IntFunction;

/** Netlink image entries for the tests, shaped like criu 4.2's (see the sk-netlink zdtm sample). */
final class Nl {
    private Nl() {
    }

    static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    static SkOptsEntry opts() {
        return SkOptsEntry.newBuilder().setSoSndbuf(212992).setSoRcvbuf(212992).setSoSndTmoSec(0)
                .setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0).setReuseaddr(false).setSoPriority(0)
                .setSoRcvlowat(1).setSoPasscred(false).build();
    }

    /** A NETLINK_KOBJECT_UEVENT socket entry; adjust it with {@code more}. */
    static NetlinkSkEntry.Builder entry(int id, int state, int portid) {
        return NetlinkSkEntry.newBuilder().setId(id).setIno(900000 + id).setProtocol(15).setState(state)
                .setFlags(2).setPortid(portid).setDstPortid(0).setDstGroup(0).setFown(fown()).setOpts(opts());
    }

    interface Edit {
        void apply(NetlinkSkEntry.Builder b);
    }

    static IntFunction<FileEntry> file(int state, int portid, Edit more) {
        return id -> {
            NetlinkSkEntry.Builder b = entry(id, state, portid);
            more.apply(b);
            return FileEntry.newBuilder().setType(FdType.NETLINKSK.code()).setId(id).setNlsk(b).build();
        };
    }
}
