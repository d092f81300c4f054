#!/usr/bin/python3
"""Write canal-c as a few files to drop into another tree (make amalgamation).

usage: tools/amalgamate.py [--nanopb DIR] OUTDIR MODULE...
  MODULE   header:source[:libs] of one public module, e.g. canal.h:canal.c
           (libs, what the module links beyond libc, is the Makefile's
           business); a module whose files are absent is skipped
  --nanopb fold nanopb's runtime (pb.h, pb_common.c, pb_decode.c,
           pb_encode.c from DIR) in as well: the pair then needs only libc

Each module becomes OUTDIR/<header> (a copy) and OUTDIR/<source>, with every
file it includes by a quoted path (the generated codecs in pb/, private
headers) folded in, and, after a folded header, its .c twin next to it.
The public headers of the modules stay #includes: they are shipped beside.
What is folded in gets internal linkage, so the object exports only the
module's own names:
  - the codecs' descriptors: 'extern const pb_msgdesc_t X;' becomes static,
    and PB_BIND (which defines them with external linkage) is replaced by a
    static twin defined here;
  - nanopb's functions (with --nanopb): their prototypes become static, so
    the definitions that follow are internal too.
"""
import os
import re
import sys

# nanopb's PB_BIND with internal linkage: the same three objects in the same
# layout (pb.h version 40, which the generated files check), each static.
PREAMBLE = r"""
/* ---- amalgamation: what is folded in below stays internal ---- */
#if defined(__GNUC__) || defined(__clang__)
#define CANAL_PB_UNUSED __attribute__((unused))
#else
#define CANAL_PB_UNUSED
#endif
#define CANAL_PB_INTERNAL static CANAL_PB_UNUSED
#define CANAL_PB_BIND(msgname, structname, width) \
    CANAL_PB_INTERNAL const uint32_t structname##_field_info[] PB_PROGMEM = { \
        msgname##_FIELDLIST(PB_GEN_FIELD_INFO_##width, structname) 0}; \
    CANAL_PB_INTERNAL const pb_msgdesc_t *const structname##_submsg_info[] = { \
        msgname##_FIELDLIST(PB_GEN_SUBMSG_INFO, structname) NULL}; \
    CANAL_PB_INTERNAL const pb_msgdesc_t structname##_msg = { \
        structname##_field_info, structname##_submsg_info, \
        msgname##_DEFAULT, msgname##_CALLBACK, \
        0 msgname##_FIELDLIST(PB_GEN_FIELD_COUNT, structname), \
        0 msgname##_FIELDLIST(PB_GEN_REQ_FIELD_COUNT, structname), \
        0 msgname##_FIELDLIST(PB_GEN_LARGEST_TAG, structname)}; \
    msgname##_FIELDLIST(PB_GEN_FIELD_INFO_ASSERT_##width, structname)
"""

NANOPB_HEADERS = ("pb.h", "pb_common.h", "pb_decode.h", "pb_encode.h")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# a prototype of nanopb's API at the start of a line: "bool pb_decode(...);"
PROTOTYPE = re.compile(r'^(?:extern\s+)?(?!typedef|static|extern|struct|#)[A-Za-z_][\w \t*]*\bpb_\w+\s*\(.*\);\s*$')
EXTERN_DESC = re.compile(r'^extern const pb_msgdesc_t (\w+);')


class Folder:
    def __init__(self, public, nanopb):
        self.public = public    # basenames that stay #includes
        self.nanopb = nanopb    # dir of nanopb's sources, or None
        self.done = set()       # files folded in so far (each only once)
        self.count = {"codec descriptors": 0, "nanopb functions": 0}

    def resolve(self, kind, name, here):
        """The file an #include names, if it is to be folded in, else None."""
        if os.path.basename(name) in self.public:
            return None
        if kind == '"':
            path = os.path.normpath(os.path.join(here, name))
            if os.path.exists(path):
                return path
        if self.nanopb and name in NANOPB_HEADERS:
            return os.path.join(self.nanopb, name)
        return None

    def fold(self, path, out):
        path = os.path.normpath(path)
        if path in self.done:
            return
        self.done.add(path)
        here = os.path.dirname(path)
        in_nanopb = self.nanopb and os.path.dirname(path) == os.path.normpath(self.nanopb)
        out.append("/* ---- %s ---- */\n" % self.shown(path))
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = INCLUDE.match(line)
                if m:
                    target = self.resolve(m.group(1), m.group(2), here)
                    if target:
                        self.fold(target, out)
                        continue
                m = EXTERN_DESC.match(line)
                if m:
                    line = "CANAL_PB_INTERNAL const pb_msgdesc_t %s;\n" % m.group(1)
                    self.count["codec descriptors"] += 1
                elif line.startswith("PB_BIND("):
                    line = "CANAL_" + line
                elif in_nanopb and path.endswith(".h") and PROTOTYPE.match(line):
                    line = "CANAL_PB_INTERNAL " + re.sub(r"^extern\s+", "", line)
                    self.count["nanopb functions"] += 1
                out.append(line)
        if not out[-1].endswith("\n"):
            out.append("\n")
        # a folded header brings its .c twin: the definitions it declares
        if path.endswith(".h"):
            twin = path[:-2] + ".c"
            if os.path.exists(twin) and twin not in self.done:
                self.fold(twin, out)

    def shown(self, path):
        if self.nanopb and path.startswith(os.path.normpath(self.nanopb) + os.sep):
            return "nanopb/" + os.path.relpath(path, self.nanopb)
        return os.path.relpath(path)


def nanopb_notice(nanopb):
    with open(os.path.join(nanopb, "LICENSE.txt"), encoding="utf-8") as f:
        text = f.read().strip()
    version = "?"
    with open(os.path.join(nanopb, "pb.h"), encoding="utf-8") as f:
        m = re.search(r'#define NANOPB_VERSION "?([^"\s]+)', f.read())
        if m:
            version = m.group(1)
    body = "\n".join((" * " + l).rstrip() for l in text.splitlines())
    return ("/*\n * This file contains nanopb %s (https://jpa.kapsi.fi/nanopb/), ALTERED:\n"
            " * its sources are folded in below and its functions made static.\n"
            " * nanopb's license:\n *\n%s\n */\n" % (version, body.replace("*/", "* /")))


def main(argv):
    nanopb = None
    if len(argv) > 1 and argv[0] == "--nanopb":
        nanopb, argv = argv[1], argv[2:]
        if not os.path.exists(os.path.join(nanopb, "pb_decode.c")):
            sys.exit("amalgamate: no nanopb sources in %s" % nanopb)
    if len(argv) < 2:
        sys.exit(__doc__)
    outdir, modules = argv[0], [tuple(m.split(":")[:2]) for m in argv[1:]]
    present = [(h, c) for h, c in modules if os.path.exists(h) and os.path.exists(c)]
    public = {os.path.basename(h) for h, _ in present}
    os.makedirs(outdir, exist_ok=True)
    for header, source in present:
        with open(header, encoding="utf-8") as f:
            text = f.read()
        with open(os.path.join(outdir, os.path.basename(header)), "w", encoding="utf-8") as f:
            f.write(text)
        folder = Folder(public, nanopb)
        body = []
        folder.fold(source, body)
        head = ["/* %s: amalgamated by tools/amalgamate.py from canal-c's sources; do not edit.\n"
                " * Compile it next to %s; %s */\n" % (
                    os.path.basename(source), os.path.basename(header),
                    "it needs only libc." if nanopb else
                    "it needs nanopb's headers and runtime (the same PB_* macros for both).")]
        if nanopb and any("nanopb/" in folder.shown(p) for p in folder.done):
            head.append(nanopb_notice(nanopb))
            # canal-c reads only from memory: nanopb's buffer-only streams
            head.append("#ifndef PB_BUFFER_ONLY\n#define PB_BUFFER_ONLY 1\n#endif\n")
        if folder.count["codec descriptors"] or folder.count["nanopb functions"]:
            head.append(PREAMBLE)
        with open(os.path.join(outdir, os.path.basename(source)), "w", encoding="utf-8") as f:
            f.write("".join(head + body))
        folded = sorted(folder.shown(p) for p in folder.done if p != os.path.normpath(source))
        print("%s/%s: %s%s" % (outdir, os.path.basename(source),
                                "folded " + ", ".join(folded) if folded else "nothing folded",
                                "".join("; %d %s made static" % (n, k)
                                        for k, n in folder.count.items() if n)))
    for h, c in modules:
        if (h, c) not in present:
            print("%s: skipped (%s absent)" % (c, h if not os.path.exists(h) else c))


if __name__ == "__main__":
    main(sys.argv[1:])
