/** memfd files: name, size, contents (memfd.img, pagemap-shmem and pages images), owner, mode and seals. */
package fdrestore.plugin.memfd;
