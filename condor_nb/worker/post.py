"""Run by HTCondor's starter after the job has exited, before it transfers the outputs
(the job's ``PostCmd``), in the job's scratch directory. Standard library only.

The starter transfers every new file of the scratch directory and opens each one to
read it: a FIFO blocks that open for ever (the job stays in TransferringOutput and
holds its slot; a periodic hold does not end it: measured, the shadow asks to hold
every minute and the blocked starter never answers). The wrapper sets special files
apart itself, but not when it was killed (SIGKILL, out of memory) nor for one a
process the notebook started made after the wrapper's check. This last step removes
every entry that is neither a regular file nor a folder: FIFOs, sockets, devices, and
symbolic links except one to a regular file inside the scratch folder (the wrapper
keeps those too: the transfer brings back the file's content under the link's name).
"""

import os
import stat
import sys


def _link_to_a_file_inside(path: str, top: str) -> bool:
    target = os.path.realpath(path)
    if not target.startswith(top + os.sep):
        return False
    try:
        return stat.S_ISREG(os.stat(target).st_mode)
    except OSError:
        return False


def remove_special_files(root: str = ".") -> list[str]:
    removed = []
    top = os.path.realpath(root)
    for folder, dirs, files in os.walk(root):  # links to folders are listed, not followed
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
                continue
            if stat.S_ISLNK(mode) and _link_to_a_file_inside(path, top):
                continue
            try:
                os.unlink(path)
                removed.append(path)
            except OSError:
                pass
    return removed


if __name__ == "__main__":
    for path in remove_special_files():
        print("condor_nb: removed special file before the output transfer:", path)
    sys.exit(0)
