#!/bin/bash -e
# pi-gen runs this on the build host with the substage as the working directory; the
# Debian packages of 00-packages are installed already. It copies this repository's
# release files into the image and runs the one install script (the same one a manual
# install runs) inside the image's chroot. --no-start: nothing may start in a chroot.
# The release files come from files/ivrbox-src when the build put them there (the CI
# workflow does: the pi-gen action mounts only the stage directory into its container),
# else from the repository this stage sits in (a local pi-gen checkout).
if [ -d files/ivrbox-src ]; then
	REPO="$(cd files/ivrbox-src && pwd)"
else
	REPO="$(cd ../../../.. && pwd)"
fi
SRC="${ROOTFS_DIR}/opt/ivrbox-src"
rm -rf "${SRC}"
install -d "${SRC}"
for item in firmware audio config hw setup.py README.md; do
	cp -a "${REPO}/${item}" "${SRC}/"
done
find "${SRC}" -name __pycache__ -prune -exec rm -rf {} +

on_chroot << CHROOT
/opt/ivrbox-src/hw/install/install.sh --no-start --hostname "${TARGET_HOSTNAME:-ivrbox}"
rm -rf /opt/ivrbox-src
CHROOT
