package fdrestore.api.image.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.image.proto.EventpollFileEntry;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FifoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.PipeEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.image.proto.TtyFileEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Magic table, synthetic images of the kinds the samples lack, and the writer's own checks. */
class CodecTest {
    @TempDir
    Path dir;

    static final FownEntry FOWN = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0)
            .build();
    static final SkOptsEntry OPTS = SkOptsEntry.newBuilder().setSoSndbuf(1).setSoRcvbuf(2).setSoSndTmoSec(0)
            .setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0).build();

    private ImageFile roundTrip(ImageFile f) throws Exception {
        String name = f.magic().isPerObject() ? f.magic().fileName(42) : f.magic().fileName();
        Path p = dir.resolve(name);
        ImageWriter.write(f, p);
        ImageFile back = ImageReader.read(p);
        assertEquals(f, back);
        assertArrayEquals(Files.readAllBytes(p), ImageWriter.toBytes(back));
        return back;
    }

    @Test
    void magicTable() {
        Set<Integer> typeMagics = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (Magic m : Magic.values()) {
            assertTrue(typeMagics.add(m.typeMagic()), "duplicate type magic " + m);
            assertTrue(names.add(m.fileNameFormat()), "duplicate file name " + m);
            String name = m.isPerObject() ? m.fileName(123) : m.fileName();
            assertEquals(m, Magic.forFileName(name).orElseThrow(), name);
            assertEquals(m, Magic.forHeader(m.hasCommonMagic() ? Magic.COMMON_MAGIC : m.typeMagic(),
                    m.typeMagic()).orElseThrow());
            assertEquals(m.hasCommonMagic() ? 8 : 4, m.headerLength());
            if (m.isPerObject()) {
                assertEquals(123L, m.idOf(name).orElseThrow());
                assertThrows(IllegalStateException.class, m::fileName);
            } else {
                assertThrows(IllegalStateException.class, () -> m.fileName(1));
            }
        }
        assertEquals(Magic.CORE, Magic.forFileName("core-4895.img").orElseThrow());
        assertEquals(Magic.FDINFO, Magic.forFileName("fdinfo-33.img").orElseThrow());
        assertEquals(Magic.TCP_STREAM, Magic.forFileName("tcp-stream-481769.img").orElseThrow());
        assertEquals(Magic.GHOST_FILE, Magic.forFileName("ghost-file-1.img").orElseThrow());
        // criu writes ghost-file and tcp-stream ids in hex, every other per-object id in decimal
        assertEquals(Magic.TCP_STREAM, Magic.forFileName("tcp-stream-17e61e.img").orElseThrow());
        assertEquals(0x17e61eL, Magic.TCP_STREAM.idOf("tcp-stream-17e61e.img").orElseThrow());
        assertEquals("tcp-stream-17e61e.img", Magic.TCP_STREAM.fileName(0x17e61e));
        assertEquals(26L, Magic.GHOST_FILE.idOf("ghost-file-1a.img").orElseThrow());
        assertEquals("ghost-file-1a.img", Magic.GHOST_FILE.fileName(26));
        assertEquals("ghost-file-10.img", Magic.GHOST_FILE.fileName(16));
        assertEquals(10L, Magic.CORE.idOf("core-10.img").orElseThrow());
        assertFalse(Magic.forFileName("core-1a.img").isPresent());
        assertFalse(Magic.forFileName("ghost-file-1A.img").isPresent(), "criu writes lower-case hex");
        assertEquals(Magic.FDR_TASK, Magic.forFileName("fdr-task.img").orElseThrow());
        assertEquals(0x46445254, Magic.FDR_TASK.typeMagic(), "FDRT");
        assertFalse(Magic.forFileName("core-x.img").isPresent());
        assertFalse(Magic.forFileName("core-1.img.bak").isPresent());
        assertFalse(Magic.forFileName("pages-1.img").isPresent());
        assertFalse(Magic.forHeader(0x12345678, 0).isPresent());
        assertEquals("EVENTPOLL_FILE", Magic.EVENTPOLL.critName());
        assertEquals(Magic.PIPES_DATA.payloadKind(), Magic.FIFO_DATA.payloadKind());
    }

    @Test
    void legacyPerKindImagesRoundTrip() throws Exception {
        RegFileEntry reg = RegFileEntry.newBuilder().setId(1).setFlags(02).setPos(17).setFown(FOWN)
                .setName("/tmp/x").setMntId(-1).setSize(4096).setMode(0100644).addBuildId(7).addBuildId(8).build();
        roundTrip(new ImageFile(Magic.REG_FILES, List.of(ImageEntry.of(reg))));
        roundTrip(new ImageFile(Magic.PIPES, List.of(ImageEntry.of(
                PipeEntry.newBuilder().setId(2).setPipeId(99).setFlags(1).setFown(FOWN).build()))));
        roundTrip(new ImageFile(Magic.FIFO, List.of(ImageEntry.of(
                FifoEntry.newBuilder().setId(3).setPipeId(98).setRegfId(1).build()))));
        roundTrip(new ImageFile(Magic.UNIXSK, List.of(ImageEntry.of(UnixSkEntry.newBuilder().setId(4).setIno(5)
                .setType(1).setState(10).setFlags(2).setUflags(0).setBacklog(8).setPeer(0).setFown(FOWN)
                .setOpts(OPTS).setName(ByteString.copyFrom(new byte[] {0, 'a', 'b'})).setShutdown(3)
                .setMntId(-1).build()))));
        roundTrip(new ImageFile(Magic.INETSK, List.of(ImageEntry.of(InetSkEntry.newBuilder().setId(6).setIno(7)
                .setFamily(2).setType(1).setProto(6).setState(1).setSrcPort(1).setDstPort(2).setFlags(0)
                .setBacklog(0).addSrcAddr(0x0100007f).addDstAddr(0x0100007f).setFown(FOWN).setOpts(OPTS)
                .build()))));
        roundTrip(new ImageFile(Magic.TTY_FILES, List.of(ImageEntry.of(TtyFileEntry.newBuilder().setId(8)
                .setTtyInfoId(1).setFlags(0x8002).setFown(FOWN).setRegfId(9).build()))));
        EventpollTfdEntry tfd = EventpollTfdEntry.newBuilder().setId(10).setTfd(3).setEvents(1).setData(-1L).build();
        roundTrip(new ImageFile(Magic.EVENTPOLL, List.of(ImageEntry.of(EventpollFileEntry.newBuilder().setId(10)
                .setFlags(2).setFown(FOWN).build()))));
        roundTrip(new ImageFile(Magic.EVENTPOLL_TFD, List.of(ImageEntry.of(tfd), ImageEntry.of(tfd))));
        roundTrip(new ImageFile(Magic.TIMERFD, List.of(ImageEntry.of(TimerfdEntry.newBuilder().setId(11).setFlags(0)
                .setFown(FOWN).setClockid(1).setTicks(0).setSettimeFlags(0).setVsec(1).setVnsec(2).setIsec(3)
                .setInsec(4).build()))));
        roundTrip(new ImageFile(Magic.EVENTFD, List.of(ImageEntry.of(EventfdFileEntry.newBuilder().setId(12)
                .setFlags(0).setFown(FOWN).setCounter(-2L).build()))));
    }

    @Test
    void tcpStreamPayloadIsBothQueues() throws Exception {
        TcpStreamEntry t = TcpStreamEntry.newBuilder().setInqLen(3).setInqSeq(1).setOutqLen(2).setOutqSeq(2)
                .setOptMask(0x7).setSndWscale(7).setMssClamp(65495).build();
        ImageFile back = roundTrip(new ImageFile(Magic.TCP_STREAM,
                List.of(new ImageEntry(t, new byte[] {'i', 'n', 'q', 'o', 'q'}))));
        assertEquals(5, back.entry(0).payloadLength());
    }

    @Test
    void ghostFileContentRunsToEndOfFileOrComesInChunks() throws Exception {
        GhostFileEntry plain = GhostFileEntry.newBuilder().setUid(0).setGid(0).setMode(0100600).setSize(3).build();
        ImageFile back = roundTrip(new ImageFile(Magic.GHOST_FILE, List.of(new ImageEntry(plain, "abc".getBytes(
                StandardCharsets.US_ASCII)))));
        assertArrayEquals("abc".getBytes(StandardCharsets.US_ASCII), back.entry(0).payload());
        roundTrip(new ImageFile(Magic.GHOST_FILE, List.of(new ImageEntry(plain, new byte[0]))));

        GhostFileEntry chunked = plain.toBuilder().setChunks(true).setSize(10).build();
        List<ImageEntry> entries = new ArrayList<>();
        entries.add(ImageEntry.of(chunked));
        entries.add(new ImageEntry(GhostChunkEntry.newBuilder().setLen(2).setOff(0).build(), new byte[] {1, 2}));
        entries.add(new ImageEntry(GhostChunkEntry.newBuilder().setLen(3).setOff(7).build(), new byte[] {7, 8, 9}));
        ImageFile c = roundTrip(new ImageFile(Magic.GHOST_FILE, entries));
        assertNull(c.entry(0).payload());
        assertEquals(2, c.messages(GhostChunkEntry.class).size());
        assertEquals(1, c.messages(GhostFileEntry.class).size());

        // nothing may follow an unchunked head
        assertThrows(IllegalArgumentException.class, () -> ImageWriter.toBytes(new ImageFile(Magic.GHOST_FILE,
                List.of(new ImageEntry(plain, new byte[0]), entries.get(1)))));
    }

    @Test
    void fdrTaskImage() throws Exception {
        FdrTaskEntry t = FdrTaskEntry.newBuilder().setPid(4242)
                .addArgv(ByteString.copyFromUtf8("/bin/sleep")).addArgv(ByteString.copyFromUtf8("100"))
                .addEnv(ByteString.copyFrom(new byte[] {'A', '=', (byte) 0xff}))
                .setCwd(ByteString.copyFromUtf8("/tmp")).setComm("sleep").build();
        ImageFile back = roundTrip(new ImageFile(Magic.FDR_TASK, List.of(ImageEntry.of(t),
                ImageEntry.of(FdrTaskEntry.newBuilder().setPid(4243).build()))));
        byte[] bytes = ImageWriter.toBytes(back);
        assertArrayEquals(new byte[] {0x19, 0x43, 0x56, 0x54, 0x54, 0x52, 0x44, 0x46},
                java.util.Arrays.copyOf(bytes, 8), "common magic, then 'FDRT' as a little-endian word");
        assertEquals(List.of(4242, 4243), back.messages(FdrTaskEntry.class).stream().map(FdrTaskEntry::getPid)
                .toList());
    }

    @Test
    void unknownFdTypeStaysANumber() throws Exception {
        byte[] raw = FdinfoEntry.newBuilder().setId(1).setFlags(0).setType(4000).setFd(3).build().toByteArray();
        ImageFile f = roundTrip(new ImageFile(Magic.FDINFO, List.of(ImageEntry.of(FdinfoEntry.parseFrom(raw)))));
        FdinfoEntry e = f.single(FdinfoEntry.class);
        assertEquals(4000, e.getType());
        assertTrue(e.getUnknownFields().asMap().isEmpty());
        FileEntry fe = FileEntry.newBuilder().setType(77).setId(5).setBpf(ByteString.copyFromUtf8("opaque")).build();
        assertEquals(fe, roundTrip(new ImageFile(Magic.FILES, List.of(ImageEntry.of(fe)))).single(FileEntry.class));
    }

    @Test
    void writerRefusesWhatTheReaderWouldReject() {
        PipeDataEntry pd = PipeDataEntry.newBuilder().setPipeId(1).setBytes(4).build();
        assertThrows(IllegalArgumentException.class, () -> ImageWriter.toBytes(new ImageFile(Magic.PIPES_DATA,
                List.of(new ImageEntry(pd, new byte[3])))), "payload length mismatch");
        assertThrows(IllegalArgumentException.class, () -> ImageWriter.toBytes(new ImageFile(Magic.PIPES_DATA,
                List.of(ImageEntry.of(pd)))), "payload missing");
        FdinfoEntry fd = FdinfoEntry.newBuilder().setId(1).setFlags(0).setType(1).setFd(0).build();
        assertThrows(IllegalArgumentException.class, () -> ImageWriter.toBytes(new ImageFile(Magic.FDINFO,
                List.of(new ImageEntry(fd, new byte[1])))), "payload on a kind without payloads");
        assertThrows(IllegalArgumentException.class, () -> ImageWriter.toBytes(new ImageFile(Magic.FILES,
                List.of(ImageEntry.of(fd)))), "wrong message type");
        Message partial = FdinfoEntry.newBuilder().setId(1).buildPartial();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageWriter.toBytes(
                new ImageFile(Magic.FDINFO, List.of(ImageEntry.of(partial)))));
        assertTrue(e.getMessage().contains("flags"), e.getMessage());
        assertEquals(new ImageEntry(pd, new byte[4]), new ImageEntry(pd, new byte[4]));
        assertThrows(ClassCastException.class, () -> ImageEntry.of(pd).message(FdinfoEntry.class));
    }

    @Test
    void emptyImageHasNoEntries() throws Exception {
        ImageFile f = roundTrip(new ImageFile(Magic.TTY_DATA, List.of()));
        assertEquals(0, f.size());
        assertEquals(8, ImageWriter.toBytes(f).length);
        assertEquals(4, ImageWriter.toBytes(new ImageFile(Magic.INVENTORY, List.of())).length);
    }
}
