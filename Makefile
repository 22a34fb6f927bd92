# Installs Tiny Cloud like an Alpine package: needs only this tree after
# `npm run build` (or a release tarball from `make dist`, which holds the
# built bundle) and a POSIX shell; never node_modules, never the network.
#
#   make install   [DESTDIR=/image] [PREFIX=/usr] [LINK_TARGETS=relative|absolute]
#   make uninstall [DESTDIR=/image] [PREFIX=/usr]
#   make dist      [DISTDIR=.] -> DISTDIR/tiny-cloud-VERSION.tar.gz
#
# Layout (the shell edition's later releases):
#   $(PREFIX)/lib/tiny-cloud/tiny-cloud.cjs   the program (one file, 0755)
#   $(PREFIX)/lib/tiny-cloud/tiny-cloud.conf  documented configuration template
#   $(PREFIX)/lib/tiny-cloud/code-cache/      V8 code caches for a boot's first runs, made
#                                             by prepare-code-cache.sh with this node
#                                             (PREPARE_CODE_CACHE=no: none; the Alpine
#                                             package makes them in its post-install)
#   $(PREFIX)/sbin/tiny-cloud, $(PREFIX)/bin/imds   names of the program
#   /etc/init.d/tiny-cloud-{boot,early,main,final}  OpenRC services
#   /etc/tiny-cloud.conf                      from the template, only if absent
#   $(PREFIX)/share/man/man{1,5,8}/...        man pages; completions for bash, zsh, fish

PREFIX ?= /usr
DESTDIR ?=
SYSCONFDIR ?= /etc
PREPARE_CODE_CACHE ?= yes
# The names of the program are relative links, made from the directory each
# really lands in (see relpath below); LINK_TARGETS=absolute makes those
# outside $(PREFIX) (the network helpers at /sbin and /lib/mdev) lead to
# $(PREFIX)/lib/tiny-cloud/tiny-cloud.cjs as it is, for a package, which apk
# unpacks onto an image whose /sbin and /lib may be directories or links to
# /usr: only such a target is right from both. $(PREFIX)/sbin/tiny-cloud and
# $(PREFIX)/bin/imds stay relative (their directories are directories):
# image builders test the image's /usr/sbin/tiny-cloud from outside it
# (alpine-cloud-images: [ -f "$TARGET/usr/sbin/tiny-cloud" ], then chroot
# "$TARGET" /usr/sbin/tiny-cloud --enable), where an absolute link would
# lead to the builder's own /usr, which has none.
LINK_TARGETS ?= relative

VERSION := $(shell sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' package.json | head -n 1)
LIBDIR := $(PREFIX)/lib/tiny-cloud
BUNDLE := dist/tiny-cloud.cjs
PROGRAM := $(LIBDIR)/tiny-cloud.cjs

# Names of the program: one line each, the path it is installed at (without
# DESTDIR). Each becomes a relative symlink to $(PROGRAM); the program
# dispatches on the name it is called by. The network helpers keep the shell
# edition's paths, which mdev rules and images name.
LINKS := \
	$(PREFIX)/sbin/tiny-cloud \
	$(PREFIX)/bin/imds \
	/sbin/assemble-interfaces \
	/sbin/imds-net-sync \
	/lib/mdev/vnic-eth-hotplug \
	/lib/mdev/nvme-ebs-links

# Plain files: one line each, SOURCE:DESTINATION:MODE (destination without
# DESTDIR). The ifupdown-ng executor is a shell wrapper around `tiny-cloud
# net-sync` (its name, imds, is taken), where ifupdown-ng looks for
# executors. The man pages and shell completions are built by `npm run build`
# (scripts/build-docs.mjs) into dist/, which the release tarball holds; the
# bash and fish ones are installed under both names, as those shells look a
# command's completion up by its name.
FILES := \
	conf/tiny-cloud.conf:$(LIBDIR)/tiny-cloud.conf:0644 \
	openrc/client.sh:$(LIBDIR)/client.sh:0644 \
	packaging/prepare-code-cache.sh:$(LIBDIR)/prepare-code-cache.sh:0755 \
	openrc/tiny-cloud-boot:$(SYSCONFDIR)/init.d/tiny-cloud-boot:0755 \
	openrc/tiny-cloud-early:$(SYSCONFDIR)/init.d/tiny-cloud-early:0755 \
	openrc/tiny-cloud-main:$(SYSCONFDIR)/init.d/tiny-cloud-main:0755 \
	openrc/tiny-cloud-final:$(SYSCONFDIR)/init.d/tiny-cloud-final:0755 \
	udhcpc/post-bound/tiny-cloud:$(SYSCONFDIR)/udhcpc/post-bound/tiny-cloud:0755 \
	README.md:$(PREFIX)/share/doc/tiny-cloud/README.md:0644 \
	etc/network/interfaces.d/lo:$(SYSCONFDIR)/network/interfaces.d/lo:0644 \
	etc/network/interfaces.d/DEFAULT:$(SYSCONFDIR)/network/interfaces.d/DEFAULT:0644 \
	usr/libexec/ifupdown-ng/imds:/usr/libexec/ifupdown-ng/imds:0755 \
	dist/man/tiny-cloud.8:$(PREFIX)/share/man/man8/tiny-cloud.8:0644 \
	dist/man/imds.1:$(PREFIX)/share/man/man1/imds.1:0644 \
	dist/man/tiny-cloud.conf.5:$(PREFIX)/share/man/man5/tiny-cloud.conf.5:0644 \
	dist/man/alpine-config.5:$(PREFIX)/share/man/man5/alpine-config.5:0644 \
	dist/man/cloud-config.5:$(PREFIX)/share/man/man5/cloud-config.5:0644 \
	dist/completions/tiny-cloud.bash:$(PREFIX)/share/bash-completion/completions/tiny-cloud:0644 \
	dist/completions/tiny-cloud.bash:$(PREFIX)/share/bash-completion/completions/imds:0644 \
	dist/completions/_tiny-cloud:$(PREFIX)/share/zsh/site-functions/_tiny-cloud:0644 \
	dist/completions/tiny-cloud.fish:$(PREFIX)/share/fish/vendor_completions.d/tiny-cloud.fish:0644 \
	dist/completions/tiny-cloud.fish:$(PREFIX)/share/fish/vendor_completions.d/imds.fish:0644

# The operator's configuration: copied from the template when absent, never
# overwritten; `make uninstall` removes it only while it is still unchanged
# (like apk del does with a protected configuration file).
CONF := $(SYSCONFDIR)/tiny-cloud.conf

# What `make dist` puts in the release tarball besides the bundle, and where
# (with GNU tar, owners and times are normalised for a reproducible tarball).
DIST_FILES := Makefile README.md package.json conf openrc packaging udhcpc etc usr
DISTDIR ?= .

# relpath TARGET LINK: TARGET as seen from the directory of LINK (both absolute).
# A link is made relative to the directory it really lands in: in a /usr-merged
# image (Alpine 3.23 on, Debian), /sbin and /lib are links to usr/sbin and
# usr/lib, and a target counted from /sbin would climb out of /usr/sbin.
RELPATH = relpath() { t=$$1; d=$${2%/*}; d=$${d:-/}; up=; \
	while [ "$$d" != / ] && case "$$t" in "$$d"/*) false ;; *) true ;; esac; do d=$${d%/*}; d=$${d:-/}; up="../$$up"; done; \
	if [ "$$d" = / ]; then echo "$$up$${t\#/}"; else echo "$$up$${t\#$$d/}"; fi; }

.PHONY: all install uninstall dist check-bundle check-paths
all: check-bundle

# the names and files are listed as words (LINKS, FILES): a blank in PREFIX or LIBDIR cuts a path into pieces;
# relpath takes absolute paths (a relative one, where the link's directory is none under DESTDIR, is climbed for ever);
# an empty PREFIX is the root (its paths, $(PREFIX)/sbin..., are absolute)
check-paths:
	@case "$(PREFIX)$(LIBDIR)" in *[[:space:]]*) echo "make: PREFIX and LIBDIR may hold no blank: '$(PREFIX)', '$(LIBDIR)'" >&2; exit 1 ;; esac
	@case "$(PREFIX)/:$(LIBDIR)" in /*:/*) ;; *) echo "make: PREFIX and LIBDIR must be absolute paths: '$(PREFIX)', '$(LIBDIR)'" >&2; exit 1 ;; esac

check-bundle:
	@test -f $(BUNDLE) || { echo "make: $(BUNDLE) is missing: run 'npm run build' first (a release tarball from 'make dist' holds it)" >&2; exit 1; }
	@test -f dist/man/tiny-cloud.8 || { echo "make: dist/man is missing: run 'npm run build' first (a release tarball from 'make dist' holds it)" >&2; exit 1; }

install: check-paths check-bundle
	install -d "$(DESTDIR)$(LIBDIR)"
	install -m 0755 $(BUNDLE) "$(DESTDIR)$(LIBDIR)/.tiny-cloud.cjs.new"
	mv -f "$(DESTDIR)$(LIBDIR)/.tiny-cloud.cjs.new" "$(DESTDIR)$(PROGRAM)"
	@$(RELPATH); set -e; root=$$(cd -P "$(DESTDIR)/" && pwd -P); root=$${root%/}; for link in $(LINKS); do \
		install -d "$(DESTDIR)$${link%/*}"; \
		dir=$$(cd -P "$(DESTDIR)$${link%/*}" && pwd -P); \
		case $$dir in "$$root"/*) dir=$${dir#"$$root"} ;; *) dir=$${link%/*} ;; esac; \
		if [ "$(LINK_TARGETS)" = absolute ] && case $$link in "$(PREFIX)"/*) [ -z "$(PREFIX)" ] || [ "$(PREFIX)" = / ] ;; *) true ;; esac; then \
			target=$(PROGRAM); else target=$$(relpath $(PROGRAM) "$$dir/$${link##*/}"); fi; \
		echo "ln -sfn $$target $(DESTDIR)$$link"; \
		ln -sfn "$$target" "$(DESTDIR)$${link%/*}/.$${link##*/}.new"; \
		{ [ ! -L "$(DESTDIR)$$link" ] || [ ! -d "$(DESTDIR)$$link" ]; } || rm -f "$(DESTDIR)$$link"; \
		mv -f "$(DESTDIR)$${link%/*}/.$${link##*/}.new" "$(DESTDIR)$$link"; \
	done
# (the OpenRC services look for the client of the resident process where it is installed, $(LIBDIR), not in /usr/lib alone;
# the configuration names its stock copy there)
	@set -e; for f in $(FILES); do \
		src=$${f%%:*}; rest=$${f#*:}; dest=$${rest%:*}; mode=$${rest##*:}; \
		echo "install -m $$mode $$src $(DESTDIR)$$dest"; \
		install -d "$(DESTDIR)$${dest%/*}"; \
		install -m $$mode "$$src" "$(DESTDIR)$${dest%/*}/.$${dest##*/}.new"; \
		case $$src in openrc/tiny-cloud-*) sed 's|TINY_CLOUD_LIB:-/usr/lib/tiny-cloud}|TINY_CLOUD_LIB:-$(LIBDIR)}|' "$$src" > "$(DESTDIR)$${dest%/*}/.$${dest##*/}.new" ;; esac; \
		case $$src in conf/tiny-cloud.conf) sed 's|^# The stock copy of this file is /usr/lib/tiny-cloud/tiny-cloud.conf\.$$|# The stock copy of this file is $(LIBDIR)/tiny-cloud.conf.|' "$$src" > "$(DESTDIR)$${dest%/*}/.$${dest##*/}.new" ;; esac; \
		mv -f "$(DESTDIR)$${dest%/*}/.$${dest##*/}.new" "$(DESTDIR)$$dest"; \
	done
# (after the files: the phases' cache is made through the resident process, with the client.sh installed beside the program)
	@if [ "$(PREPARE_CODE_CACHE)" = yes ]; then \
		sh packaging/prepare-code-cache.sh "$(DESTDIR)$(PROGRAM)" "$(DESTDIR)$(LIBDIR)/code-cache" || \
		echo "make: no prepared code cache: the first runs of a boot compile the program" >&2; \
	fi
	@if [ -e "$(DESTDIR)$(CONF)" ]; then \
		echo "keeping $(DESTDIR)$(CONF)"; \
	else \
		echo "install -m 0644 $(DESTDIR)$(LIBDIR)/tiny-cloud.conf $(DESTDIR)$(CONF)"; \
		install -d "$(DESTDIR)$(SYSCONFDIR)"; \
		install -m 0644 "$(DESTDIR)$(LIBDIR)/tiny-cloud.conf" "$(DESTDIR)$(CONF)"; \
	fi

# Removes what install installed, the services' runlevel links (they would
# dangle), and /etc/tiny-cloud.conf only while it equals the template.
uninstall: check-paths
	@for link in $(LINKS) $(PROGRAM); do echo "rm -f $(DESTDIR)$$link"; rm -f "$(DESTDIR)$$link" "$(DESTDIR)$${link%/*}/.$${link##*/}.new"; done
	@echo "rm -rf $(DESTDIR)$(LIBDIR)/code-cache"; rm -rf "$(DESTDIR)$(LIBDIR)/code-cache"
	@for f in $(FILES); do rest=$${f#*:}; dest=$${rest%:*}; \
		if [ "$$dest" = "$(LIBDIR)/tiny-cloud.conf" ] && [ -f "$(DESTDIR)$(CONF)" ] && cmp -s "$(DESTDIR)$$dest" "$(DESTDIR)$(CONF)"; then \
			echo "rm -f $(DESTDIR)$(CONF)"; rm -f "$(DESTDIR)$(CONF)"; \
		fi; \
		echo "rm -f $(DESTDIR)$$dest"; rm -f "$(DESTDIR)$$dest" "$(DESTDIR)$${dest%/*}/.$${dest##*/}.new"; \
	done
	@if [ -e "$(DESTDIR)$(CONF)" ]; then echo "keeping $(DESTDIR)$(CONF): it differs from the stock template (remove it by hand)"; fi
	@for svc in boot early main final; do for l in "$(DESTDIR)$(SYSCONFDIR)"/runlevels/*/tiny-cloud-$$svc; do \
		if [ -L "$$l" ]; then echo "rm -f $$l"; rm -f "$$l"; fi; \
	done; done
	-@rmdir "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PREFIX)/share/doc/tiny-cloud" 2>/dev/null

dist: check-bundle
	@set -e; stage="$(DISTDIR)/tiny-cloud-$(VERSION)"; \
	rm -rf "$$stage" "$$stage.tar.gz"; mkdir -p "$$stage/dist"; \
	cp -R $(DIST_FILES) "$$stage/"; cp -p $(BUNDLE) "$$stage/dist/"; cp -R dist/man dist/completions "$$stage/dist/"; \
	if tar --version 2>/dev/null | grep -q GNU; then \
		set -- --owner=0 --group=0 --numeric-owner --sort=name --mtime="@$$(git log -1 --format=%ct 2>/dev/null || date +%s)"; \
	else set --; fi; \
	tar -czf "$$stage.tar.gz" -C "$(DISTDIR)" "$$@" "tiny-cloud-$(VERSION)"; \
	rm -rf "$$stage"; echo "$$stage.tar.gz"
