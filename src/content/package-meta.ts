/** A relation to another package or capability; without `op`, any version. */
export interface Relation {
  name: string;
  op?: '=' | '>=' | '<=';
  version?: string;
}

/**
 * What a package is, in one format's spelling (nfpm's `Info`, given per format): its producer (the
 * kernel's headers, khpkg itself) decides names, versions and words; a format writer turns them into
 * control fields or header tags and knows nothing of kernels.
 */
export interface PackageMeta {
  name: string;
  /** The upstream version, already in the format's alphabet. */
  version: string;
  /** deb revision, rpm Release. */
  release: string;
  /** The architecture as the format spells it (amd64, x86_64). */
  arch: string;
  maintainer: string;
  summary: string;
  /** Paragraphs, unwrapped: deb wraps them, rpm keeps them. */
  description: string[];
  homepage: string;
  /** rpm's License (the deb's copyright file says it in full). */
  license: string;
  /** deb Section, rpm Group. */
  section: string;
  provides: Relation[];
  depends: Relation[];
  /**
   * Shell scripts the package manager runs, each in its own calling convention (deb postinst
   * `configure`, rpm %post `1`): deb postinst/prerm/postrm, rpm %post/%preun/%postun.
   */
  scripts: {postInstall?: string; preRemove?: string; postRemove?: string};
  /** deb's /usr/share/doc files: the copyright file and the changelog entry's lines. */
  copyright?: string;
  changes?: string;
  /** A system extension's `extension-release` fields: the hosts it merges on, and its architecture in systemd's names. */
  extension?: {id: string; sysextLevel?: string; versionId?: string; architecture: string};
}
