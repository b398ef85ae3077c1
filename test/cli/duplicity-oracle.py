"""
Parses command lines with duplicity 0.8.22's own parser (duplicity/commandline.py) and prints what
it concluded, named like permafrost's CliOptions, so that test/cli/command-line.test.ts can compare.

stdin: a JSON list of argv lists (run it with the environment under test: duplicity reads
XDG_CACHE_HOME and HOME when it is imported); stdout: a JSON list of results, one per case:
either {"exit": code} when duplicity refuses the command line, or the parsed fields.
Each case runs in a forked child, because duplicity keeps its state in module globals.
"""
import json
import os
import sys

import gettext
gettext.install('duplicity')

from duplicity import commandline, config, dup_time, gpg, log  # noqa: E402

MIB = 1024 * 1024
SELECTION_KINDS = {
    '--exclude-globbing-filelist': 'exclude-filelist',
    '--include-globbing-filelist': 'include-filelist',
}


def text(v):
    return v.decode('utf-8') if isinstance(v, bytes) else v


def action_of(args):
    """ProcessCommandLine's choice of action, without opening a backend."""
    if len(args) == 1:
        if commandline.list_current:
            return 'list-current-files'
        if commandline.collection_status:
            return 'collection-status'
        if commandline.cleanup:
            return 'cleanup'
        if config.remove_time is not None:
            return 'remove-older-than'
        if config.remove_all_but_n_full_mode:
            return 'remove-all-but-n-full'
        if config.remove_all_inc_of_but_n_full_mode:
            return 'remove-all-inc-of-but-n-full'
        commandline.command_line_error('Too few arguments')
    local, url = commandline.args_to_path_backend(args[0], args[1])
    if local == args[0]:
        dup_action = 'full' if commandline.full_backup else 'inc'
        verb = 'full' if commandline.full_backup else ('incremental' if config.incremental else 'backup')
    else:
        dup_action = 'verify' if commandline.verify else 'restore'
        verb = dup_action
    commandline.check_consistency(dup_action)
    return verb


def parse(argv):
    log.setup()
    dup_time.setcurtime()  # dup_main does this before time options are parsed
    config.gpg_profile = gpg.GPGProfile()
    try:
        args = commandline.parse_cmdline_options(list(argv))
        verb = action_of(args)
    except SystemExit as e:
        return {'exit': e.code}
    p = config.gpg_profile
    return {
        'verb': verb,
        'positionals': args,
        'keepCount': config.keep_chains,
        'hasRemoveTime': config.remove_time is not None,
        'hasTime': config.restore_time is not None,
        'hasFullIfOlderThan': config.full_force_time is not None,
        'backupName': config.backup_name,
        'archiveDir': config.archive_dir,
        'volsize': config.volsize / MIB,
        'fileToRestore': text(config.restore_dir) or None,
        'force': bool(config.force),
        'dryRun': bool(config.dry_run),
        'progress': bool(config.progress),
        'progressRate': config.progress_rate,
        'verbosity': log.getverbosity(),
        'filePrefix': text(config.file_prefix),
        'filePrefixArchive': text(config.file_prefix_archive),
        'filePrefixManifest': text(config.file_prefix_manifest),
        'filePrefixSignature': text(config.file_prefix_signature),
        'tempdir': config.temproot,
        'currentTime': config.current_time,
        'noEncryption': not config.encryption,
        'noCompression': not config.compression,
        'encryptKeys': p.recipients,
        'hiddenEncryptKeys': p.hidden_recipients,
        'signKey': p.sign_key,
        'gpgBinary': config.gpg_binary,
        'gpgOptions': config.gpg_options,
        'useAgent': bool(config.use_agent),
        'allowSourceMismatch': bool(config.allow_source_mismatch),
        'numericOwner': bool(config.numeric_owner),
        'doNotRestoreOwnership': bool(config.do_not_restore_ownership),
        'compareData': bool(config.compare_data),
        'maxBlocksize': config.max_blocksize,
        'metadataSyncMode': config.metadata_sync_mode,
        'numRetries': config.num_retries,
        'backendRetryDelay': config.backend_retry_delay,
        'timeout': config.timeout,
        'nullSeparator': bool(config.null_separator),
        'printStatistics': bool(config.print_statistics),
        'timeSeparator': config.time_separator,
        'shortFilenames': bool(config.short_filenames),
        'oldFilenames': bool(config.old_filenames),
        'selection': [
            {'kind': SELECTION_KINDS.get(opt, opt[2:]), **({} if arg is None else {'value': '/dev/stdin' if arg == 'standard input' else arg})}
            for opt, arg in commandline.select_opts
        ],
        's3UseDeepArchive': config.s3_use_deep_archive,
        's3UseGlacier': config.s3_use_glacier,
        's3UseGlacierIr': config.s3_use_glacier_ir,
        's3UseIa': config.s3_use_ia,
        's3UseOnezoneIa': config.s3_use_onezone_ia,
        's3UseRrs': config.s3_use_rrs,
        's3EndpointUrl': config.s3_endpoint_url,
        's3RegionName': config.s3_region_name,
        's3EuropeanBuckets': config.s3_european_buckets,
        's3UseNewStyle': config.s3_use_new_style,
        's3UseMultiprocessing': config.s3_use_multiprocessing,
        's3MultipartChunkSize': config.s3_multipart_chunk_size / MIB,
        's3MultipartMaxProcs': config.s3_multipart_max_procs,
        's3MultipartMaxTimeout': config.s3_multipart_max_timeout,
        's3UseServerSideEncryption': config.s3_use_sse,
        's3UseServerSideKmsEncryption': config.s3_use_sse_kms,
        's3KmsKeyId': config.s3_kms_key_id,
        's3KmsGrant': config.s3_kms_grant,
        's3UnencryptedConnection': config.s3_unencrypted_connection,
    }


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            try:
                out = json.dumps(parse(case)).encode()
            except BaseException as e:  # report, do not hang the parent
                out = json.dumps({'crash': repr(e)}).encode()
            os.write(w, out)
            os._exit(0)
        os.close(w)
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        os.waitpid(pid, 0)
        results.append(json.loads(b''.join(chunks)))
    json.dump(results, sys.stdout)


main()
