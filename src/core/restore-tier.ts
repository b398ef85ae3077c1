/**
 * How fast an archived object is thawed (S3's RestoreRequest tier): the CLI's `--tier`, the
 * restore request the backend sends, and the retrieval prices all speak it.
 */
export type RestoreTier = 'Expedited' | 'Standard' | 'Bulk';
